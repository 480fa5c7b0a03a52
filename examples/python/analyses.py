"""The seed analyses on spate: the scripts spate replaces streamed ``sessions.item`` out of a
big JSON document with ijson, filtered with lambdas, attached the session's id to each
delegation and counted with a Counter. Here the same answers come from spate, the filters
and aggregates computed in Rust.

    python examples/python/analyses.py big.json          # prints the four analyses
    python examples/python/analyses.py big.json --check  # and checks each against json.load

(``--check`` loads the whole document with ``json.load``: use it on small files.)
"""

import collections
import json
import sys

import spate

SESSIONS = "sessions.item"
DELEGATIONS = "sessions.item.delegations.item"


def stream_sessions(doc, filter=None):
    """Sessions, optionally filtered by a jq program run in Rust."""
    return spate.items(doc, SESSIONS, filter=filter)


def stream_delegations(doc, filter=None):
    """Delegations with their session's id and message count attached."""
    return spate.items(doc, DELEGATIONS, filter=filter, with_={
        "session_id": "sessions.item.session_id",
        "session_message_count": "sessions.item.message_count",
    })


def marathons(doc, more_than=20):
    """Ids of sessions with more than `more_than` delegations."""
    return list(stream_sessions(doc, f"select(.delegations | length > {more_than}) | .session_id"))


def developer_delegations(doc):
    """(session id, delegation id) of every delegation to the `developer` agent."""
    return [(d["session_id"], d["delegation_id"])
            for d in stream_delegations(doc, 'select(.agent_type == "developer")')]


def per_agent(doc):
    """Per agent type: delegations and input tokens (exact sums, in Rust)."""
    rows = spate.aggregate(doc, DELEGATIONS, group_by=".agent_type", count=True,
                           sum=".input_tokens")
    return {r[".agent_type"]: (r["count"], r["sum(.input_tokens)"]) for r in rows}


def check(doc):
    """Each analysis against the same analysis on json.load of the whole document."""
    with open(doc, "rb") as f:
        data = json.load(f)
    sessions = data["sessions"]
    assert marathons(doc) == [s["session_id"] for s in sessions if len(s["delegations"]) > 20]
    assert developer_delegations(doc) == [
        (s["session_id"], d["delegation_id"])
        for s in sessions for d in s["delegations"] if d["agent_type"] == "developer"]
    counts = collections.Counter()
    tokens = collections.Counter()
    for s in sessions:
        for d in s["delegations"]:
            counts[d["agent_type"]] += 1
            tokens[d["agent_type"]] += d["input_tokens"]
    assert per_agent(doc) == {a: (counts[a], tokens[a]) for a in counts}
    first = next(iter(stream_delegations(doc)))
    s0 = next(s for s in sessions if s["delegations"])
    assert first == {**s0["delegations"][0], "session_id": s0["session_id"],
                     "session_message_count": s0["message_count"]}
    assert sum(1 for _ in stream_sessions(doc)) == len(sessions)


def main(argv):
    doc = argv[1]
    print("marathon sessions:", len(marathons(doc)))
    print("developer delegations:", len(developer_delegations(doc)))
    for agent, (n, tokens) in sorted(per_agent(doc).items()):
        print(f"  {agent:24} {n:8} delegations {tokens:14,} input tokens")
    if "--check" in argv:
        check(doc)
        print("checked against json.load: same answers")


if __name__ == "__main__":
    main(sys.argv)
