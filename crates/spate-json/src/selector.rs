//! Matching values against compiled paths while the scanner streams.
//!
//! The [`Selector`] is the scanner's [`Handler`]. For each watched value it works out which
//! paths are still alive (their steps matched so far), whether the value is selected (a path
//! ends here: "emit"), whether to watch its children (a path goes deeper: "descend"), or
//! neither (the subtree is validated without callbacks: "skip"). Alive paths are a bit mask,
//! so up to 64 paths are matched in one pass at the cost of one.

use std::collections::VecDeque;

use crate::children::{Children, Recorder};
use crate::eval::{Evaluator, Tree};
use crate::jsonpath::{Choice, Logical, Segment};
use crate::path::{Path, Step};
use crate::scanner::{Flow, Handler, Member, Watch};

/// Most paths one selector matches at once.
pub const MAX_PATHS: usize = 64;

/// A selected value: its byte range in the input and the index of the path that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Offset of the value's first byte.
    pub start: u64,
    /// Offset just past the value's last byte.
    pub end: u64,
    /// Index of the matching path in the list given to [`Selector::new`].
    pub path: usize,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    /// Paths that continue below this container (step index = depth).
    alive: u64,
    /// Index of the next element (arrays).
    next_index: u64,
    /// How many entries at the top of [`Selector::extra`] belong to this frame.
    extra: u32,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    depth: u32,
    start: u64,
    paths: u64,
    /// Whether a capturing (non-marker) path selected the value: its bytes must be kept.
    retain: bool,
    /// Paths for which the value is only a candidate: an element that a negative index may
    /// select, known when its array ends.
    tentative: u64,
}

/// The last elements of an array a negative index (`[-n]`) may select: the candidate for
/// `[-n]` is the oldest once the array ends with `n` of them kept.
#[derive(Debug, Clone)]
struct Ring {
    /// Depth of the array.
    depth: u32,
    path: usize,
    n: u64,
    spans: VecDeque<Span>,
}

/// How one streamed step matches a child.
#[derive(Debug, Clone)]
enum Matcher {
    Step(Step),
    /// A slice with a positive step and non-negative bounds (`end` `u64::MAX`: none).
    Slice {
        start: u64,
        end: u64,
        step: u64,
    },
    /// A negative index `[-n]`: every element is a candidate until the array ends; the last
    /// `n` are kept. Always the last streamed step.
    FromEnd(u64),
}

/// The part of a JSONPath decided on a held value: the value at the end of the streamed
/// steps is held whole (bounded by the caller's item size limit), then evaluated.
#[derive(Debug, Clone)]
struct Tail {
    /// A filter the held value itself must pass (it is a candidate child of a filter
    /// selector, held until it is read).
    filter: Option<Logical>,
    /// Segments applied to the held value (when it passes).
    segments: Vec<Segment>,
}

#[derive(Debug, Clone)]
struct Plan {
    matchers: Vec<Matcher>,
    tail: Option<Tail>,
}

impl Plan {
    fn new(path: &Path) -> Plan {
        let Some(query) = path.query() else {
            return Plan {
                matchers: path.steps().iter().cloned().map(Matcher::Step).collect(),
                tail: None,
            };
        };
        let segments = &query.segments;
        if query.has_absolute_filter() {
            // `$` inside a filter may name a value anywhere: hold the whole document.
            return Plan {
                matchers: Vec::new(),
                tail: Some(Tail {
                    filter: None,
                    segments: segments.clone(),
                }),
            };
        }
        let mut matchers = Vec::new();
        for segment in segments {
            let matcher = match (segment.descendant, &segment.selectors[..]) {
                (false, [Choice::Name(n)]) => Matcher::Step(Step::Key(n.as_bytes().to_vec())),
                (false, [Choice::Wildcard]) => Matcher::Step(Step::Any),
                (false, [Choice::Index(i)]) if *i >= 0 => Matcher::Step(Step::Index(*i as u64)),
                (false, [Choice::Slice { start, end, step }])
                    if start.unwrap_or(0) >= 0
                        && end.unwrap_or(0) >= 0
                        && step.unwrap_or(1) > 0 =>
                {
                    Matcher::Slice {
                        start: start.unwrap_or(0) as u64,
                        end: end.map_or(u64::MAX, |e| e as u64),
                        step: step.unwrap_or(1) as u64,
                    }
                }
                (false, [Choice::Index(i)]) => {
                    matchers.push(Matcher::FromEnd(i.unsigned_abs()));
                    break;
                }
                _ => break,
            };
            matchers.push(matcher);
        }
        let j = matchers.len();
        if let Some(Matcher::FromEnd(_)) = matchers.last() {
            // What follows the chosen element is evaluated on it, held.
            let tail = (j < segments.len()).then(|| Tail {
                filter: None,
                segments: segments[j..].to_vec(),
            });
            return Plan { matchers, tail };
        }
        if j == segments.len() {
            return Plan {
                matchers,
                tail: None,
            };
        }
        let tail = match (segments[j].descendant, &segments[j].selectors[..]) {
            (false, [Choice::Filter(l)]) => {
                // Each child is a candidate: hold one child at a time.
                matchers.push(Matcher::Step(Step::Any));
                Tail {
                    filter: Some(l.clone()),
                    segments: segments[j + 1..].to_vec(),
                }
            }
            _ => Tail {
                filter: None,
                segments: segments[j..].to_vec(),
            },
        };
        Plan {
            matchers,
            tail: Some(tail),
        }
    }
}

/// A selector's state between two values, for [`Selector::resume`]: which paths are alive in
/// each watched open container. Element indexes are not part of it, so it is only offered
/// (by [`Selector::snapshot`]) when no path counts elements, nothing selected is open,
/// pending or held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectorState {
    /// Per watched open container: the paths alive below it, and its ijson states.
    frames: Vec<(u64, u32)>,
    extra: Vec<(u32, u32)>,
}

impl SelectorState {
    /// Number of watched open containers.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }
}

/// Selects the values at a set of paths. See the module docs.
#[derive(Debug)]
pub struct Selector {
    paths: Vec<Path>,
    plans: Vec<Plan>,
    /// One frame per watched open container.
    frames: Vec<Frame>,
    /// Selected values that began and have not ended yet (nested when paths nest).
    open: Vec<Open>,
    /// Selected values that ended and were not taken yet.
    ready: VecDeque<Span>,
    /// Results of the last held value evaluated, not taken yet (they come before `ready`).
    expanded: VecDeque<Span>,
    /// Paths that selected at least one value.
    matched: u64,
    all: u64,
    /// Paths whose values are only marked (start and end), never kept: used to learn
    /// where an enclosing value ends without holding its bytes.
    markers: u64,
    /// Paths whose values at the end of the streamed steps are held and evaluated.
    held: u64,
    /// ijson prefixes (matched by dot-joined text).
    ijson: u64,
    /// Paths ending their streamed steps with a negative index.
    from_end: u64,
    /// Candidates of negative indexes, per open array and path.
    rings: Vec<Ring>,
    /// Most bytes the candidates of one negative index may span.
    hold_limit: u64,
    /// Start of the candidates that went over `hold_limit`.
    over_limit: Option<u64>,
    /// ijson states whose step index differs from the depth (a member name containing a
    /// dot consumed several steps): `(path, steps consumed)`, grouped by frame.
    extra: Vec<(u32, u32)>,
    evaluator: Evaluator,
    scratch: Vec<u8>,
    /// Paths whose selected containers have their children recorded.
    record: u64,
    recorder: Recorder,
}

impl Clone for Selector {
    fn clone(&self) -> Self {
        Selector {
            paths: self.paths.clone(),
            plans: self.plans.clone(),
            frames: self.frames.clone(),
            open: self.open.clone(),
            ready: self.ready.clone(),
            expanded: self.expanded.clone(),
            matched: self.matched,
            all: self.all,
            markers: self.markers,
            held: self.held,
            ijson: self.ijson,
            from_end: self.from_end,
            rings: self.rings.clone(),
            hold_limit: self.hold_limit,
            over_limit: self.over_limit,
            extra: self.extra.clone(),
            evaluator: Evaluator::default(),
            scratch: Vec::new(),
            record: self.record,
            recorder: self.recorder.clone(),
        }
    }
}

impl Selector {
    /// A selector for `paths` (at most [`MAX_PATHS`]; an empty list selects nothing, which
    /// is how a plain validation runs).
    ///
    /// # Panics
    /// If more than [`MAX_PATHS`] paths are given; callers check this first.
    pub fn new(paths: Vec<Path>) -> Self {
        assert!(paths.len() <= MAX_PATHS, "at most {MAX_PATHS} paths");
        let all = if paths.len() == 64 {
            u64::MAX
        } else {
            (1u64 << paths.len()) - 1
        };
        let plans: Vec<Plan> = paths.iter().map(Plan::new).collect();
        let mut held = 0;
        let mut ijson = 0;
        let mut from_end = 0;
        for (i, (path, plan)) in paths.iter().zip(&plans).enumerate() {
            if plan.tail.is_some() {
                held |= 1 << i;
            }
            if path.is_ijson() {
                ijson |= 1 << i;
            }
            if let Some(Matcher::FromEnd(_)) = plan.matchers.last() {
                from_end |= 1 << i;
            }
        }
        Selector {
            paths,
            plans,
            frames: Vec::new(),
            open: Vec::new(),
            ready: VecDeque::new(),
            expanded: VecDeque::new(),
            matched: 0,
            all,
            markers: 0,
            held,
            ijson,
            from_end,
            rings: Vec::new(),
            hold_limit: u64::MAX,
            over_limit: None,
            extra: Vec::new(),
            evaluator: Evaluator::default(),
            scratch: Vec::new(),
            record: 0,
            recorder: Recorder::default(),
        }
    }

    /// Records where the direct children of the objects and arrays that the paths whose
    /// bit is set in `paths` select begin (and how long their member names are), for
    /// [`Selector::children`]; marker paths and paths decided on a held value are left
    /// out, and so are values below which another path goes on. One value is recorded at
    /// a time: a selected value inside one being recorded is not. See [`crate::children`].
    pub fn record_children(&mut self, paths: u64) {
        self.record = paths & self.all & !self.markers & !self.held;
    }

    /// The paths set by [`Selector::record_children`].
    pub fn recorded_paths(&self) -> u64 {
        self.record
    }

    /// The children of the value `span` selected (a span just taken), when they were
    /// recorded (see [`Selector::record_children`]): `None` when the value is not the one
    /// recorded last, not a container, or had too many children to record.
    pub fn children(&self, span: &Span) -> Option<Children<'_>> {
        if self.record >> span.path & 1 == 0 {
            return None;
        }
        self.recorder.children(span)
    }

    /// Like [`Selector::new`], but the paths whose bit is set in `markers` only mark where
    /// their values begin and end: their bytes are not kept (see [`Selector::retain_from`]).
    pub fn with_markers(paths: Vec<Path>, markers: u64) -> Self {
        let mut selector = Selector::new(paths);
        selector.markers = markers & selector.all & !selector.held;
        selector.record &= !selector.markers;
        selector
    }

    /// Sets the most bytes the elements a negative index keeps (`[-n]` keeps the last `n`)
    /// may span; see [`Selector::hold_exceeded`]. No limit by default.
    pub fn set_hold_limit(&mut self, limit: u64) {
        self.hold_limit = limit;
    }

    /// The offset where the elements kept for a negative index begin, once they span more
    /// than the hold limit: the caller reports it (the selector goes on keeping them).
    pub fn hold_exceeded(&self) -> Option<u64> {
        self.over_limit
    }

    /// True when path `i` is a marker path.
    pub fn is_marker(&self, i: usize) -> bool {
        self.markers >> i & 1 == 1
    }

    /// True when the paths can be matched from a [`SelectorState`]: every one streams
    /// (no filter, union, slice, descendant or negative index, nothing held) and none
    /// names an element by its index.
    pub fn resumable(&self) -> bool {
        self.held == 0
            && self.from_end == 0
            && self.plans.iter().all(|plan| {
                plan.matchers
                    .iter()
                    .all(|m| matches!(m, Matcher::Step(Step::Key(_) | Step::Any | Step::Item)))
            })
    }

    /// The state between values, for [`Selector::resume`]: `None` when the paths are not
    /// [`Selector::resumable`] or a selected value is open, waiting to be taken or held.
    pub fn snapshot(&self) -> Option<SelectorState> {
        if !self.resumable()
            || !self.open.is_empty()
            || !self.ready.is_empty()
            || !self.expanded.is_empty()
            || !self.rings.is_empty()
            || self.over_limit.is_some()
        {
            return None;
        }
        Some(SelectorState {
            frames: self.frames.iter().map(|f| (f.alive, f.extra)).collect(),
            extra: self.extra.clone(),
        })
    }

    /// A selector for `paths` (with `markers`, see [`Selector::with_markers`]) that goes on
    /// from `state` as the selector that was in it would. Which paths matched starts empty.
    pub fn resume(paths: Vec<Path>, markers: u64, state: &SelectorState) -> Selector {
        let mut selector = Selector::with_markers(paths, markers);
        selector.frames = state
            .frames
            .iter()
            .map(|&(alive, extra)| Frame {
                alive,
                next_index: 0,
                extra,
            })
            .collect();
        selector.extra = state.extra.clone();
        selector
    }

    /// Forgets the current input (open values, pending items) but not which paths matched:
    /// for selecting in one JSON Lines line after another.
    pub fn reset(&mut self) {
        self.frames.clear();
        self.open.clear();
        self.ready.clear();
        self.expanded.clear();
        self.extra.clear();
        self.rings.clear();
        self.over_limit = None;
        self.recorder.reset();
    }

    /// The paths, in the order given.
    pub fn paths(&self) -> &[Path] {
        &self.paths
    }

    /// Takes the next selected value that has ended, in order of their ends. Returns `None`
    /// also when a held value must be evaluated first: see [`Selector::held`].
    pub fn take(&mut self) -> Option<Span> {
        if let Some(span) = self.expanded.pop_front() {
            return Some(span);
        }
        match self.ready.front() {
            Some(span) if self.held >> span.path & 1 == 1 => None,
            _ => self.ready.pop_front(),
        }
    }

    /// A held value (for a JSONPath whose rest is decided on the whole value: a filter's
    /// candidate, a union, a negative index, a descendant segment...) that has ended and
    /// must be evaluated before more items can be taken: pass its bytes to
    /// [`Selector::expand`]. Its size is the caller's to bound.
    pub fn held(&self) -> Option<Span> {
        if !self.expanded.is_empty() {
            return None;
        }
        match self.ready.front() {
            Some(span) if self.held >> span.path & 1 == 1 => Some(*span),
            _ => None,
        }
    }

    /// Evaluates the held value [`Selector::held`] returned, given its bytes (exactly
    /// `span.start..span.end` of the input); its results are taken next, in the order
    /// RFC 9535 gives them.
    ///
    /// # Panics
    /// If no value is held.
    pub fn expand(&mut self, bytes: &[u8]) {
        let span = self.held().expect("a held value");
        self.ready.pop_front();
        let tail = self.plans[span.path].tail.as_ref().expect("held path");
        let tree = Tree::parse(bytes);
        let pass = match &tail.filter {
            Some(l) => self.evaluator.test(&tree, 0, 0, l),
            None => true,
        };
        if !pass {
            return;
        }
        let nodes = self.evaluator.select(&tree, 0, 0, &tail.segments);
        if !nodes.is_empty() {
            self.matched |= 1 << span.path;
        }
        for n in nodes {
            let (s, e) = tree.span(n);
            self.expanded.push_back(Span {
                start: span.start + s as u64,
                end: span.start + e as u64,
                path: span.path,
            });
        }
    }

    /// Offset of the first byte that must be kept: the start of the outermost selected value
    /// still open or not yet taken. `None` when no byte needs keeping.
    pub fn retain_from(&self) -> Option<u64> {
        let open = self.open.iter().find(|o| o.retain).map(|o| o.start);
        let ready = self
            .ready
            .iter()
            .chain(self.expanded.iter())
            .filter(|s| !self.is_marker(s.path))
            .map(|s| s.start)
            .chain(
                self.rings
                    .iter()
                    .filter_map(|r| r.spans.front().map(|s| s.start)),
            )
            .min();
        match (open, ready) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// True when path `i` selected at least one value so far.
    pub fn path_matched(&self, i: usize) -> bool {
        self.matched >> i & 1 == 1
    }

    /// ijson: the steps a member name consumes from step `from` of path `p` when its
    /// dot-joined text continues the prefix (`None` when it does not).
    #[cold]
    #[inline(never)]
    fn dotted(&mut self, p: usize, from: usize, raw: &[u8]) -> Option<usize> {
        let name: &[u8] = if raw.contains(&b'\\') {
            self.scratch.clear();
            unescape(raw, &mut self.scratch);
            &self.scratch
        } else {
            raw
        };
        let steps = self.paths[p].steps();
        let mut at = from;
        for part in name.split(|&b| b == b'.') {
            let ok = match steps.get(at) {
                Some(Step::Key(k)) => k[..] == *part,
                Some(Step::Item) => part == b"item",
                _ => false,
            };
            if !ok {
                return None;
            }
            at += 1;
        }
        Some(at)
    }
}

impl Handler for Selector {
    #[inline]
    fn begin(&mut self, depth: u32, offset: u64, member: Member<'_>, container: bool) -> Watch {
        debug_assert_eq!(self.frames.len(), depth as usize);
        let (candidates, index, parent_extra) = match self.frames.last_mut() {
            None => (self.all, 0, 0),
            Some(frame) => {
                let index = frame.next_index;
                if member == Member::Element {
                    frame.next_index += 1;
                }
                (frame.alive, index, frame.extra)
            }
        };
        if candidates | u64::from(parent_extra) == 0 {
            // No path goes on here: a frame pushed only to record the children of a
            // selected value (see `open_selected`), or no path at all.
            if self.recorder.child_depth == depth {
                self.recorder.begin_child(offset, member);
            }
            return Watch::Quiet;
        }
        let d = depth as usize;
        let mut here = 0u64;
        let mut emit = 0u64;
        let extra_base = self.extra.len();
        if d == 0 {
            here = candidates;
        } else {
            let mut unsure = 0u64;
            let mut rest = candidates;
            while rest != 0 {
                let p = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                match test_member(&self.plans[p].matchers[d - 1], member, index) {
                    Test::Hit => here |= 1 << p,
                    Test::Miss => {}
                    Test::Unsure => unsure |= 1 << p,
                }
            }
            if unsure != 0 {
                if let Member::Key(raw) = member {
                    self.unsure_members(unsure, d, raw, &mut here, &mut emit, container);
                }
            }
        }
        if parent_extra != 0 {
            self.continue_extra(parent_extra as usize, member, &mut emit, container);
        }
        let mut deeper = 0u64;
        let mut rest = here;
        while rest != 0 {
            let p = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if self.plans[p].matchers.len() == d {
                emit |= 1 << p;
            } else {
                deeper |= 1 << p;
            }
        }
        let extra = self.extra.len() - extra_base;
        let mut record = false;
        if emit != 0 {
            record =
                self.open_selected(depth, offset, emit, container && deeper | extra as u64 == 0);
        }
        if container && (deeper != 0 || extra != 0 || record) {
            self.frames.push(Frame {
                alive: deeper,
                next_index: 0,
                extra: extra as u32,
            });
            Watch::Children
        } else {
            if extra != 0 {
                self.extra.truncate(extra_base);
            }
            Watch::Quiet
        }
    }

    #[inline]
    fn end(&mut self, depth: u32, end: u64) -> Flow {
        if self.frames.len() <= depth as usize && self.open.last().is_none_or(|o| o.depth != depth)
        {
            // Neither a watched container nor a selected value ends here (most ends), maybe
            // a child of a value being recorded.
            if self.recorder.child_depth == depth {
                self.recorder.child_end(end);
            }
            return Flow::Continue;
        }
        self.end_watched(depth, end)
    }
}

impl Selector {
    /// [`Handler::end`] of a watched container or a selected value.
    #[inline(never)]
    fn end_watched(&mut self, depth: u32, end: u64) -> Flow {
        if self.recorder.child_depth == depth + 1 {
            self.recorder.finish(end);
        }
        if self.frames.len() > depth as usize {
            let frame = self.frames.pop().expect("checked");
            if frame.extra != 0 {
                let keep = self.extra.len() - frame.extra as usize;
                self.extra.truncate(keep);
            }
            if !self.rings.is_empty() {
                self.array_ended(depth);
            }
        }
        match self.open.last() {
            Some(open) if open.depth == depth => {
                let open = self.open.pop().expect("checked");
                let mut rest = open.paths;
                while rest != 0 {
                    let p = rest.trailing_zeros() as usize;
                    rest &= rest - 1;
                    let span = Span {
                        start: open.start,
                        end,
                        path: p,
                    };
                    if open.tentative >> p & 1 == 1 {
                        self.keep_candidate(depth - 1, span);
                    } else {
                        self.ready.push_back(span);
                    }
                }
                Flow::Pause
            }
            _ => Flow::Continue,
        }
    }
}

impl Selector {
    /// Records a value selected by the paths in `emit` at `depth`. When `leaf` (a
    /// container below which no path goes on) is to have its children recorded, starts
    /// recording them and returns true: its children must then be watched.
    #[inline(never)]
    fn open_selected(&mut self, depth: u32, offset: u64, emit: u64, leaf: bool) -> bool {
        let tentative = if emit & self.from_end != 0 {
            self.tentative(emit, depth as usize)
        } else {
            0
        };
        self.matched |= emit & !self.held & !tentative;
        self.open.push(Open {
            depth,
            start: offset,
            paths: emit,
            retain: emit & !self.markers != 0,
            tentative,
        });
        if leaf && emit & self.record != 0 && !self.recorder.busy() {
            self.recorder.start(depth, offset);
            return true;
        }
        false
    }

    /// The paths in `unsure` whose step at depth `d` may or may not take the member name
    /// `raw` (see [`Test::Unsure`]): decodes it to tell, and for ijson, follows a name that
    /// continues the prefix with a dot-joined run of steps.
    #[cold]
    #[inline(never)]
    fn unsure_members(
        &mut self,
        mut unsure: u64,
        d: usize,
        raw: &[u8],
        here: &mut u64,
        emit: &mut u64,
        container: bool,
    ) {
        while unsure != 0 {
            let p = unsure.trailing_zeros() as usize;
            unsure &= unsure - 1;
            let matcher = &self.plans[p].matchers[d - 1];
            let name: &[u8] = match matcher {
                Matcher::Step(Step::Key(k)) => k,
                Matcher::Step(Step::Item) => b"item",
                _ => continue,
            };
            if key_equals_escaped(raw, name, &mut self.scratch) {
                *here |= 1 << p;
                continue;
            }
            // One step left cannot take a dotted name (that needs two).
            if self.ijson >> p & 1 == 1
                && self.plans[p].matchers.len() > d
                && may_continue_dotted(matcher, raw)
            {
                if let Some(at) = self.dotted(p, d - 1, raw) {
                    self.misaligned(p, at, emit, container);
                }
            }
        }
    }

    /// ijson: follows the parent frame's misaligned states (the `parent_extra` entries below
    /// the top of [`Selector::extra`]) into the child `member`.
    #[cold]
    #[inline(never)]
    fn continue_extra(
        &mut self,
        parent_extra: usize,
        member: Member<'_>,
        emit: &mut u64,
        container: bool,
    ) {
        let extra_base = self.extra.len();
        for k in extra_base - parent_extra..extra_base {
            let (p, from) = self.extra[k];
            let (p, from) = (p as usize, from as usize);
            let at = match member {
                Member::Element => {
                    (self.paths[p].steps().get(from) == Some(&Step::Item)).then_some(from + 1)
                }
                Member::Key(raw) => self.dotted(p, from, raw),
                Member::Root => None,
            };
            if let Some(at) = at {
                self.misaligned(p, at, emit, container);
            }
        }
    }

    /// Which of the paths selecting a value at depth `d` only make it a candidate of a
    /// negative index.
    #[cold]
    #[inline(never)]
    fn tentative(&self, emit: u64, d: usize) -> u64 {
        let mut out = 0;
        let mut rest = emit & self.from_end;
        while rest != 0 {
            let p = rest.trailing_zeros() as usize;
            rest &= rest - 1;
            if d > 0 && matches!(self.plans[p].matchers.get(d - 1), Some(Matcher::FromEnd(_))) {
                out |= 1 << p;
            }
        }
        out
    }

    /// Keeps a negative index's candidate (an element of the array at `depth`), dropping the
    /// ones too far from the end to be chosen.
    #[cold]
    #[inline(never)]
    fn keep_candidate(&mut self, depth: u32, span: Span) {
        let at = match self
            .rings
            .iter()
            .position(|r| r.depth == depth && r.path == span.path)
        {
            Some(at) => at,
            None => {
                let Some(Matcher::FromEnd(n)) = self.plans[span.path].matchers.last() else {
                    unreachable!("a candidate's path ends with a negative index");
                };
                self.rings.push(Ring {
                    depth,
                    path: span.path,
                    n: *n,
                    spans: VecDeque::new(),
                });
                self.rings.len() - 1
            }
        };
        let ring = &mut self.rings[at];
        ring.spans.push_back(span);
        if ring.spans.len() as u64 > ring.n {
            ring.spans.pop_front();
        }
        let first = ring.spans[0].start;
        if span.end - first > self.hold_limit && self.over_limit.is_none() {
            self.over_limit = Some(first);
        }
    }

    /// The array at `depth` ended: its negative indexes choose their element.
    #[cold]
    #[inline(never)]
    fn array_ended(&mut self, depth: u32) {
        let mut i = 0;
        while i < self.rings.len() {
            if self.rings[i].depth != depth {
                i += 1;
                continue;
            }
            let ring = self.rings.swap_remove(i);
            if ring.spans.len() as u64 == ring.n {
                let span = ring.spans[0];
                if self.held >> span.path & 1 == 0 {
                    self.matched |= 1 << span.path;
                }
                self.ready.push_back(span);
            }
        }
    }

    /// An ijson state that consumed `at` steps of path `p` at a value: selected when the
    /// prefix is used up, else followed into the value's children.
    #[cold]
    #[inline(never)]
    fn misaligned(&mut self, p: usize, at: usize, emit: &mut u64, container: bool) {
        if at == self.paths[p].steps().len() {
            *emit |= 1 << p;
        } else if container {
            self.extra.push((p as u32, at as u32));
        }
    }
}

/// Cheap test before [`Selector::dotted`]: can the member name `raw` (as written) be the
/// step's name followed by a dot? Where `raw` first differs from the name it must hold a
/// dot just after the whole name, or an escape; most names are out after a byte or two.
#[inline]
fn may_continue_dotted(m: &Matcher, raw: &[u8]) -> bool {
    let k: &[u8] = match m {
        Matcher::Step(Step::Key(k)) => k,
        Matcher::Step(Step::Item) => b"item",
        _ => return false,
    };
    if raw.len() <= k.len() {
        return false;
    }
    let common = raw.iter().zip(k).take_while(|(a, b)| a == b).count();
    match raw[common] {
        b'\\' => true,
        b'.' => common == k.len(),
        _ => false,
    }
}

/// What [`test_member`] tells of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Test {
    /// The step takes the child.
    Hit,
    /// The step does not take the child, nor (ijson) can its member name stand for this
    /// step and more, dot-joined.
    Miss,
    /// The member name is longer than the step's name and starts like it (or with an
    /// escape): it may equal it once decoded or, for ijson, continue it with a dot.
    Unsure,
}

/// Tests one streamed step against a child, without decoding its member name: the rare
/// names that need decoding come out [`Test::Unsure`].
#[inline]
fn test_member(m: &Matcher, member: Member<'_>, index: u64) -> Test {
    let hit = |b: bool| if b { Test::Hit } else { Test::Miss };
    match m {
        Matcher::Step(step) => match (step, member) {
            (Step::Any, Member::Key(_) | Member::Element) => Test::Hit,
            (Step::Item, Member::Element) => Test::Hit,
            (Step::Index(n), Member::Element) => hit(*n == index),
            (Step::Key(name), Member::Key(raw)) => test_name(raw, name),
            (Step::Item, Member::Key(raw)) => test_name(raw, b"item"),
            _ => Test::Miss,
        },
        Matcher::FromEnd(_) => hit(member == Member::Element),
        Matcher::Slice { start, end, step } => hit(member == Member::Element
            && index >= *start
            && index < *end
            && (index - start).is_multiple_of(*step)),
    }
}

/// Compares a raw member name (as written) with a decoded name as far as it can without
/// decoding. An escape is longer than what it decodes to, so a raw name no longer than
/// `name` equals it only byte for byte and without escapes, and a longer one only through an
/// escape, its bytes before the first escape being the start of `name`; a dot-joined ijson
/// name continuing `name` is longer too, and starts like it. Most names are out after
/// comparing lengths or one byte.
#[inline]
fn test_name(raw: &[u8], name: &[u8]) -> Test {
    if raw.len() <= name.len() {
        return if raw == name && !raw.contains(&b'\\') {
            Test::Hit
        } else {
            Test::Miss
        };
    }
    let first = raw[0];
    let alike = match name.first() {
        Some(&b) => b == first,
        None => first == b'.',
    };
    if alike || first == b'\\' {
        Test::Unsure
    } else {
        Test::Miss
    }
}

/// Compares a raw member name (as written, escapes not decoded) with a decoded name.
#[cfg(test)]
fn key_equals(raw: &[u8], name: &[u8], scratch: &mut Vec<u8>) -> bool {
    match test_name(raw, name) {
        Test::Hit => true,
        Test::Miss => false,
        Test::Unsure => key_equals_escaped(raw, name, scratch),
    }
}

/// Compares a raw member name longer than the decoded `name`: equal only when escapes
/// shorten it.
fn key_equals_escaped(raw: &[u8], name: &[u8], scratch: &mut Vec<u8>) -> bool {
    if !raw.contains(&b'\\') {
        return false;
    }
    scratch.clear();
    unescape(raw, scratch);
    scratch == name
}

/// Decodes the escapes of a validated JSON string body into UTF-8, appending to `out`.
/// Unpaired surrogates become U+FFFD. (The walker's decoder: one copy of the rules.)
pub fn unescape(raw: &[u8], out: &mut Vec<u8>) {
    crate::walk::unescape_into(raw, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unescape_decodes_everything() {
        let mut out = Vec::new();
        unescape(br#"a\"b\\c\/\n\u00e9\ud83d\ude00\ud800x"#, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), "a\"b\\c/\né😀\u{fffd}x");
    }

    #[test]
    fn keys_compare_decoded() {
        let mut s = Vec::new();
        assert!(key_equals(br"sess\u0069ons", b"sessions", &mut s));
        assert!(key_equals(b"sessions", b"sessions", &mut s));
        assert!(!key_equals(b"session", b"sessions", &mut s));
        assert!(!key_equals(b"sessionsX", b"sessions", &mut s));
        // Same bytes, but the raw name's escape decodes to a newline.
        assert!(!key_equals(br"a\n", b"a\\n", &mut s));
        assert!(key_equals(br"a\\n", b"a\\n", &mut s));
        assert!(key_equals(br"\u0061", b"a", &mut s));
        assert!(!key_equals(br"\u0062", b"a", &mut s));
        assert!(key_equals(b"", b"", &mut s));
        assert!(!key_equals(br"\u0061", b"", &mut s));
    }

    #[test]
    fn names_out_early_stay_out() {
        // A longer name starting unlike the step's name can neither equal it nor continue
        // it with a dot; one starting alike, or with an escape, is left to decoding.
        assert_eq!(test_name(b"parentUuid", b"message"), Test::Miss);
        assert_eq!(test_name(b"messageId", b"message"), Test::Unsure);
        assert_eq!(test_name(br"\u006dessage.x", b"message"), Test::Unsure);
        assert_eq!(test_name(b".a", b""), Test::Unsure);
        assert_eq!(test_name(b"a", b""), Test::Miss);
        assert_eq!(test_name(b"message", b"message"), Test::Hit);
    }
}
