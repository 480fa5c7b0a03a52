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
/// long-context pricing is billed entirely at the long-context rates.
pub const LONG_CONTEXT_THRESHOLD: u64 = 200_000;

/// Picodollars in one US dollar.
pub const PICO_PER_USD: u128 = 1_000_000_000_000;

/// Prices per token, in picodollars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelPrice {
    /// Standard rates.
    pub rates: Rates,
    /// Long-context rates, for requests whose prompt exceeds [`LONG_CONTEXT_THRESHOLD`].
    pub long_context: Option<Rates>,
}

impl ModelPrice {
    /// Cost of one request: when its prompt (input plus cache reads and writes) exceeds the
    /// long-context threshold, all of its tokens are billed at the long-context rates.
    pub fn cost(&self, t: &Tokens) -> u128 {
        self.cost_of(t, t.prompt() > LONG_CONTEXT_THRESHOLD)
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

/// Dollars per million tokens to picodollars per token.
const fn mtok(dollars_times_100: u64) -> u64 {
    dollars_times_100 * 10_000
}

const fn rates(input: u64, output: u64, w5: u64, w1h: u64, read: u64) -> Rates {
    Rates {
        input: mtok(input),
        output: mtok(output),
        cache_write_5m: mtok(w5),
        cache_write_1h: mtok(w1h),
        cache_read: mtok(read),
    }
}

const OPUS_3_4: ModelPrice = ModelPrice {
    rates: rates(1500, 7500, 1875, 3000, 150),
    long_context: None,
};
const OPUS_45: ModelPrice = ModelPrice {
    rates: rates(500, 2500, 625, 1000, 50),
    long_context: None,
};
const SONNET_4: ModelPrice = ModelPrice {
    rates: rates(300, 1500, 375, 600, 30),
    long_context: Some(rates(600, 2250, 750, 1200, 60)),
};
const SONNET_3: ModelPrice = ModelPrice {
    rates: rates(300, 1500, 375, 600, 30),
    long_context: None,
};
const HAIKU_45: ModelPrice = ModelPrice {
    rates: rates(100, 500, 125, 200, 10),
    long_context: None,
};
const HAIKU_35: ModelPrice = ModelPrice {
    rates: rates(80, 400, 100, 160, 8),
    long_context: None,
};
const HAIKU_3: ModelPrice = ModelPrice {
    rates: rates(25, 125, 30, 50, 3),
    long_context: None,
};

/// The embedded price table: normalized model family name to price (USD per million
/// tokens: input, output, 5-minute write, 1-hour write, read; long context above 200k).
const EMBEDDED: &[(&str, ModelPrice)] = &[
    ("claude-opus-4-6", OPUS_45),
    ("claude-opus-4-5", OPUS_45),
    ("claude-opus-4-1", OPUS_3_4),
    ("claude-opus-4-0", OPUS_3_4),
    ("claude-opus-4", OPUS_3_4),
    ("claude-3-opus", OPUS_3_4),
    ("claude-sonnet-4-5", SONNET_4),
    ("claude-sonnet-4-0", SONNET_4),
    ("claude-sonnet-4", SONNET_4),
    ("claude-3-7-sonnet", SONNET_3),
    ("claude-3-5-sonnet", SONNET_3),
    ("claude-haiku-4-5", HAIKU_45),
    ("claude-3-5-haiku", HAIKU_35),
    ("claude-3-haiku", HAIKU_3),
];

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
    s
}

/// A price table: the embedded one, optionally overridden by a LiteLLM-style JSON file.
#[derive(Debug, Clone, Default)]
pub struct PriceTable {
    overrides: HashMap<String, ModelPrice>,
    overrides_normalized: HashMap<String, ModelPrice>,
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
        EMBEDDED
            .iter()
            .find(|(name, _)| *name == norm)
            .map(|(_, price)| *price)
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
            let long_context = match (
                get("input_cost_per_token_above_200k_tokens")?,
                get("output_cost_per_token_above_200k_tokens")?,
            ) {
                (Some(li), Some(lo)) => Some(Rates {
                    input: li,
                    output: lo,
                    cache_write_5m: get("cache_creation_input_token_cost_above_200k_tokens")?
                        .unwrap_or(standard.cache_write_5m),
                    cache_write_1h: get(
                        "cache_creation_input_token_cost_above_1hr_above_200k_tokens",
                    )?
                    .unwrap_or(li * 2),
                    cache_read: get("cache_read_input_token_cost_above_200k_tokens")?
                        .unwrap_or(standard.cache_read),
                }),
                _ => None,
            };
            let price = ModelPrice {
                rates: standard,
                long_context,
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
        assert!(t.lookup("claude-opus-4-7").is_none());
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
