//! Prices and exact cost arithmetic.
//!
//! Costs are integers in picodollars (10⁻¹² USD): every published Anthropic price per token is
//! a whole number of picodollars, so a request's cost and any sum of costs are exact. They are
//! rounded only for display.

use std::collections::HashMap;
use std::path::Path;

use crate::error::{Error, Result};
use crate::model::Tokens;

/// Prompt size (input plus cache reads and writes) above which a request of a model with
/// long-context pricing is billed entirely at the long-context rates, unless the model's price
/// names another threshold ([`ModelPrice::long_context_threshold`]).
pub const LONG_CONTEXT_THRESHOLD: u64 = 200_000;

/// Picodollars in one US dollar.
pub const PICO_PER_USD: u128 = 1_000_000_000_000;

mod table;

/// Prices per token, in picodollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rates {
    /// Uncached input.
    pub input: u64,
    /// Output.
    pub output: u64,
    /// 5-minute cache write.
    pub cache_write_5m: u64,
    /// 1-hour cache write.
    pub cache_write_1h: u64,
    /// Cache read.
    pub cache_read: u64,
}

impl Rates {
    /// Cost of `t` at these rates.
    pub fn cost(&self, t: &Tokens) -> u128 {
        u128::from(t.input) * u128::from(self.input)
            + u128::from(t.output) * u128::from(self.output)
            + u128::from(t.cache_write_5m) * u128::from(self.cache_write_5m)
            + u128::from(t.cache_write_1h) * u128::from(self.cache_write_1h)
            + u128::from(t.cache_read) * u128::from(self.cache_read)
    }
}

/// The price of one model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ModelPrice {
    /// Standard rates.
    pub rates: Rates,
    /// Long-context rates, for requests whose prompt exceeds the threshold.
    pub long_context: Option<Rates>,
    /// The long-context threshold in prompt tokens; 0 means [`LONG_CONTEXT_THRESHOLD`].
    pub long_context_threshold: u64,
}

impl ModelPrice {
    /// Cost of one request: when its prompt (input plus cache reads and writes) exceeds the
    /// long-context threshold, all of its tokens are billed at the long-context rates.
    pub fn cost(&self, t: &Tokens) -> u128 {
        self.cost_of(t, t.prompt() > self.threshold())
    }

    /// The prompt size above which the long-context rates apply.
    pub fn threshold(&self) -> u64 {
        match self.long_context_threshold {
            0 => LONG_CONTEXT_THRESHOLD,
            t => t,
        }
    }

    /// Cost of a sum of requests that are all long-context (`long`) or all not. Costs are
    /// linear in tokens, so this is exactly the sum of the requests' costs.
    pub fn cost_of(&self, t: &Tokens, long: bool) -> u128 {
        match (long, self.long_context) {
            (true, Some(long_rates)) => long_rates.cost(t),
            _ => self.rates.cost(t),
        }
    }
}

/// A price from picodollars per token (input, output, 5-minute write, 1-hour write, read).
const fn p(input: u64, output: u64, w5: u64, w1h: u64, read: u64) -> ModelPrice {
    ModelPrice {
        rates: Rates {
            input,
            output,
            cache_write_5m: w5,
            cache_write_1h: w1h,
            cache_read: read,
        },
        long_context: None,
        long_context_threshold: 0,
    }
}

/// `standard` with long-context rates above `threshold` prompt tokens.
const fn lc(standard: ModelPrice, threshold: u64, r: [u64; 5]) -> ModelPrice {
    ModelPrice {
        rates: standard.rates,
        long_context: Some(Rates {
            input: r[0],
            output: r[1],
            cache_write_5m: r[2],
            cache_write_1h: r[3],
            cache_read: r[4],
        }),
        long_context_threshold: threshold,
    }
}

/// Where the embedded prices come from (a LiteLLM price file; see `scripts/litellm_prices.py`).
pub const EMBEDDED_SOURCE: &str = table::SOURCE;

/// One model of a price table, for listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceEntry {
    /// The model family name looked up (see [`normalize_model`]), or an override's own name.
    pub model: String,
    /// Its price.
    pub price: ModelPrice,
    /// Where it comes from: the LiteLLM key of the embedded entry, or the override file.
    pub origin: String,
}

/// Reduces a model id to its family name: lower case, without provider prefixes
/// (`anthropic/`, `us.anthropic.`), version suffixes (`-v1:0`, `@20250514`, `-20250514`)
/// and `-latest`.
pub fn normalize_model(name: &str) -> String {
    let mut s = name.trim().to_ascii_lowercase();
    if let Some(pos) = s.rfind('/') {
        s = s[pos + 1..].to_owned();
    }
    if let Some(pos) = s.find("anthropic.") {
        s = s[pos + "anthropic.".len()..].to_owned();
    }
    if let Some(pos) = s.find('@') {
        s.truncate(pos);
    }
    // Bedrock's "-v1:0"
    if let Some(pos) = s.rfind("-v") {
        let rest = &s[pos + 2..];
        if !rest.is_empty() && rest.bytes().all(|c| c.is_ascii_digit() || c == b':') {
            s.truncate(pos);
        }
    }
    if let Some(stripped) = s.strip_suffix("-latest") {
        s = stripped.to_owned();
    }
    if let Some(pos) = s.rfind('-') {
        let rest = &s[pos + 1..];
        if rest.len() == 8 && rest.bytes().all(|c| c.is_ascii_digit()) {
            s.truncate(pos);
        }
    }
    // "claude-opus-4.5" is "claude-opus-4-5"
    s.replace('.', "-")
}

/// The embedded price of a model family name.
fn embedded_lookup(family: &str) -> Option<ModelPrice> {
    table::TABLE
        .binary_search_by(|(name, _, _)| (*name).cmp(family))
        .ok()
        .map(|i| table::TABLE[i].1)
}

/// A price table: the embedded one, optionally overridden by a LiteLLM-style JSON file.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    overrides: HashMap<String, ModelPrice>,
    overrides_normalized: HashMap<String, ModelPrice>,
    /// The override files read, in order.
    override_files: Vec<std::path::PathBuf>,
}

impl PriceTable {
    /// The embedded table only.
    pub fn embedded() -> Self {
        PriceTable::default()
    }

    /// The price of a model, or `None` when the model is unknown.
    pub fn lookup(&self, model: &str) -> Option<ModelPrice> {
        if let Some(p) = self.overrides.get(model) {
            return Some(*p);
        }
        let norm = normalize_model(model);
        if let Some(p) = self.overrides_normalized.get(&norm) {
            return Some(*p);
        }
        embedded_lookup(&norm)
    }

    /// Where the prices come from: the embedded table's source, then each override file.
    pub fn sources(&self) -> Vec<String> {
        let mut v = vec![format!("embedded: {EMBEDDED_SOURCE}")];
        v.extend(
            self.override_files
                .iter()
                .map(|f| format!("override: {}", f.display())),
        );
        v
    }

    /// Every model of the table: the overrides (by their own names), then the embedded
    /// families no override replaces, sorted by name within each part.
    pub fn entries(&self) -> Vec<PriceEntry> {
        let origin = self
            .override_files
            .last()
            .map(|f| f.display().to_string())
            .unwrap_or_default();
        let mut v: Vec<PriceEntry> = self
            .overrides
            .iter()
            .map(|(m, p)| PriceEntry {
                model: m.clone(),
                price: *p,
                origin: origin.clone(),
            })
            .collect();
        v.sort_by(|a, b| a.model.cmp(&b.model));
        v.extend(
            table::TABLE
                .iter()
                .filter(|(name, _, _)| !self.overrides_normalized.contains_key(*name))
                .map(|(name, price, key)| PriceEntry {
                    model: (*name).to_owned(),
                    price: *price,
                    origin: format!("LiteLLM {key}"),
                }),
        );
        v
    }

    /// Adds the models of a LiteLLM `model_prices_and_context_window.json`-style file: an
    /// object from model name to an object with `input_cost_per_token`,
    /// `output_cost_per_token`, `cache_creation_input_token_cost`,
    /// `cache_creation_input_token_cost_above_1hr`, `cache_read_input_token_cost` and the
    /// `*_above_200k_tokens` variants (USD per token). Entries without input and output
    /// prices are ignored; a missing 1-hour write price is twice the input price
    /// (Anthropic's rule), other missing cache prices are zero.
    pub fn with_litellm_file(mut self, path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        self.add_litellm_json(&bytes)
            .map_err(|message| Error::Pricing {
                path: path.to_owned(),
                message,
            })?;
        self.override_files.push(path.to_owned());
        Ok(self)
    }

    /// Adds the models of LiteLLM-style JSON text; see [`PriceTable::with_litellm_file`].
    pub fn add_litellm_json(&mut self, bytes: &[u8]) -> std::result::Result<usize, String> {
        let doc: serde_json::Value =
            serde_json::from_slice(bytes).map_err(|e| format!("not JSON: {e}"))?;
        let obj = doc
            .as_object()
            .ok_or("expected an object from model name to prices")?;
        let mut added = 0;
        for (name, v) in obj {
            let Some(fields) = v.as_object() else {
                continue;
            };
            let get = |k: &str| -> std::result::Result<Option<u64>, String> {
                match fields.get(k) {
                    None | Some(serde_json::Value::Null) => Ok(None),
                    Some(x) => {
                        let f = x
                            .as_f64()
                            .filter(|f| f.is_finite() && *f >= 0.0 && *f < 1.0)
                            .ok_or_else(|| {
                                format!("{name}.{k}: expected a price in USD per token")
                            })?;
                        Ok(Some((f * 1e12).round() as u64))
                    }
                }
            };
            let (Some(input), Some(output)) =
                (get("input_cost_per_token")?, get("output_cost_per_token")?)
            else {
                continue;
            };
            let standard = Rates {
                input,
                output,
                cache_write_5m: get("cache_creation_input_token_cost")?.unwrap_or(0),
                cache_write_1h: get("cache_creation_input_token_cost_above_1hr")?
                    .unwrap_or(input * 2),
                cache_read: get("cache_read_input_token_cost")?.unwrap_or(0),
            };
            let mut long_context = None;
            let mut long_context_threshold = 0;
            for (threshold, tag) in [(200_000, "200k"), (100_000, "100k")] {
                let (Some(li), Some(lo)) = (
                    get(&format!("input_cost_per_token_above_{tag}_tokens"))?,
                    get(&format!("output_cost_per_token_above_{tag}_tokens"))?,
                ) else {
                    continue;
                };
                long_context = Some(Rates {
                    input: li,
                    output: lo,
                    cache_write_5m: get(&format!(
                        "cache_creation_input_token_cost_above_{tag}_tokens"
                    ))?
                    .unwrap_or(standard.cache_write_5m),
                    cache_write_1h: get(&format!(
                        "cache_creation_input_token_cost_above_1hr_above_{tag}_tokens"
                    ))?
                    .unwrap_or(li * 2),
                    cache_read: get(&format!("cache_read_input_token_cost_above_{tag}_tokens"))?
                        .unwrap_or(standard.cache_read),
                });
                long_context_threshold = threshold;
                break;
            }
            let price = ModelPrice {
                rates: standard,
                long_context,
                long_context_threshold,
            };
            self.overrides.insert(name.clone(), price);
            self.overrides_normalized
                .insert(normalize_model(name), price);
            added += 1;
        }
        Ok(added)
    }
}

/// Formats picodollars as an exact decimal number of dollars (no trailing zeros).
pub fn format_usd_exact(pico: u128) -> String {
    let whole = pico / PICO_PER_USD;
    let frac = pico % PICO_PER_USD;
    if frac == 0 {
        return whole.to_string();
    }
    let mut f = format!("{frac:012}");
    while f.ends_with('0') {
        f.pop();
    }
    format!("{whole}.{f}")
}

/// Formats picodollars rounded to cents, e.g. `$1,234.57`.
pub fn format_usd_cents(pico: u128) -> String {
    let cents = (pico + PICO_PER_USD / 200) / (PICO_PER_USD / 100);
    format!("${}.{:02}", group_thousands(cents / 100), cents % 100)
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u128) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    let mut until_comma = s.len() % 3;
    if until_comma == 0 {
        until_comma = 3;
    }
    for c in s.chars() {
        if until_comma == 0 {
            out.push(',');
            until_comma = 3;
        }
        out.push(c);
        until_comma -= 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_provider_and_date_forms() {
        for (raw, want) in [
            ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
            ("anthropic/claude-opus-4-1-20250805", "claude-opus-4-1"),
            (
                "us.anthropic.claude-sonnet-4-20250514-v1:0",
                "claude-sonnet-4",
            ),
            ("claude-3-5-sonnet@20241022", "claude-3-5-sonnet"),
            ("claude-3-7-sonnet-latest", "claude-3-7-sonnet"),
            ("Claude-Haiku-4-5", "claude-haiku-4-5"),
            ("gpt-5", "gpt-5"),
            ("claude-opus-4.8", "claude-opus-4-8"),
        ] {
            assert_eq!(normalize_model(raw), want, "{raw}");
        }
    }

    #[test]
    fn embedded_prices_are_exact() {
        let t = PriceTable::embedded();
        let tok = Tokens {
            input: 1000,
            output: 500,
            cache_write_5m: 2000,
            cache_write_1h: 100,
            cache_read: 50000,
        };
        let p = t.lookup("claude-sonnet-4-5-20250929").unwrap();
        // 1000×3 + 500×15 + 2000×3.75 + 100×6 + 50000×0.3 = 33600 µ$
        assert_eq!(format_usd_exact(p.cost(&tok)), "0.0336");
        assert!(t.lookup("claude-opus-9-20300101").is_none());
        let opus47 = t.lookup("claude-opus-4-7").unwrap();
        assert_eq!(opus47.rates.input, 5_000_000);
        assert_eq!(t.lookup("claude-opus-4.7"), Some(opus47));
        assert!(t.lookup("<synthetic>").is_none());
        let haiku3 = t.lookup("claude-3-haiku-20240307").unwrap();
        assert_eq!(haiku3.rates.cache_read, 30_000); // $0.03 per million
    }

    #[test]
    fn long_context_applies_to_the_whole_request() {
        let p = PriceTable::embedded()
            .lookup("claude-sonnet-4-20250514")
            .unwrap();
        let at = Tokens {
            input: 100_000,
            cache_read: 100_000,
            output: 1_000,
            ..Tokens::default()
        };
        // exactly 200k prompt: standard rates
        assert_eq!(format_usd_exact(p.cost(&at)), "0.345");
        let above = Tokens {
            input: 100_001,
            ..at
        };
        // 100001*6 + 100000*0.6 + 1000*22.5 per million
        assert_eq!(format_usd_exact(p.cost(&above)), "0.682506");
        let opus = PriceTable::embedded().lookup("claude-opus-4-1").unwrap();
        assert_eq!(opus.cost(&above), opus.rates.cost(&above));
    }

    #[test]
    fn litellm_overrides() {
        let mut t = PriceTable::embedded();
        let n = t
            .add_litellm_json(
                br#"{"sample_spec": "x", "my-model": {"input_cost_per_token": 1e-06,
                 "output_cost_per_token": 2e-06, "cache_read_input_token_cost": 1e-07},
                 "claude-sonnet-4-5-20250929": {"input_cost_per_token": 4e-06, "output_cost_per_token": 1.6e-05,
                 "input_cost_per_token_above_200k_tokens": 8e-06, "output_cost_per_token_above_200k_tokens": 3e-05}}"#,
            )
            .unwrap();
        assert_eq!(n, 2);
        let m = t.lookup("my-model").unwrap();
        assert_eq!(m.rates.input, 1_000_000);
        assert_eq!(m.rates.cache_write_1h, 2_000_000);
        assert_eq!(m.rates.cache_read, 100_000);
        let s = t.lookup("claude-sonnet-4-5").unwrap();
        assert_eq!(s.rates.input, 4_000_000);
        assert_eq!(s.long_context.unwrap().output, 30_000_000);
        assert!(t.add_litellm_json(b"[1]").is_err());
        assert!(t
            .add_litellm_json(
                br#"{"m": {"input_cost_per_token": "cheap", "output_cost_per_token": 1}}"#
            )
            .is_err());
    }

    #[test]
    fn embedded_table_is_sorted_and_priced() {
        for w in table::TABLE.windows(2) {
            assert!(w[0].0 < w[1].0, "{} before {}", w[0].0, w[1].0);
        }
        for (name, price, _) in table::TABLE {
            assert!(price.rates.input > 0 && price.rates.output > 0, "{name}");
            assert!(
                price.rates.cache_write_1h >= price.rates.cache_write_5m,
                "{name}"
            );
            assert_eq!(embedded_lookup(name), Some(*price));
        }
        // the models Claude Code writes in 2026
        for m in [
            "claude-opus-4-6",
            "claude-opus-4-7",
            "claude-opus-4-8",
            "claude-opus-5",
            "claude-sonnet-4-6",
            "claude-sonnet-5",
            "claude-haiku-5-5",
        ] {
            assert!(PriceTable::embedded().lookup(m).is_some(), "{m}");
        }
    }

    #[test]
    fn a_100k_threshold_applies_to_the_whole_request() {
        let p = PriceTable::embedded().lookup("claude-haiku-5-5").unwrap();
        assert_eq!(p.threshold(), 100_000);
        let t = Tokens {
            input: 100_001,
            output: 10,
            ..Tokens::default()
        };
        assert_eq!(p.cost(&t), p.long_context.unwrap().cost(&t));
        let t = Tokens {
            input: 100_000,
            ..t
        };
        assert_eq!(p.cost(&t), p.rates.cost(&t));
    }

    #[test]
    fn money_formats() {
        assert_eq!(format_usd_exact(0), "0");
        assert_eq!(format_usd_exact(1_500_000_000_000), "1.5");
        assert_eq!(format_usd_exact(30_000), "0.00000003");
        assert_eq!(format_usd_cents(1_234_565_000_000_000), "$1,234.57");
        assert_eq!(format_usd_cents(4_999_999_999), "$0.00");
        assert_eq!(format_usd_cents(5_000_000_000), "$0.01");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
    }
}
