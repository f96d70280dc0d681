//! Model prices (built-in Workers AI prices, a tenant's `pricing` table) and what an answer costs, in integer micro-dollars.
//!
//! A price is micro-dollars per million tokens (`$0.282` per M is 282,000), so every cost is
//! integer arithmetic: `ceil(Σ tokens × price / 1,000,000)` micro-dollars, rounded up once per
//! attempt (a budget is never under-charged by rounding). Amounts are read from decimal text
//! (`0.282`, `"5.00"`), never through a float.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::Error;
use crate::json::{describe, invalid, Obj};

/// When the built-in prices were read from Cloudflare's Workers AI pricing page
/// (<https://developers.cloudflare.com/workers-ai/platform/pricing/>, "Last updated Aug 28, 2026").
pub const BUILTIN_PRICES_READ: &str = "2026-12-04";

/// Built-in Workers AI prices: model, input and output in micro-dollars per million tokens.
/// Embedding models have no output price. Tenants override or add prices in `pricing`.
pub const BUILTIN: &[(&str, u64, u64)] = &[
    ("@cf/meta/llama-3.1-8b-instruct", 282_000, 827_000),
    ("@cf/meta/llama-3.1-8b-instruct-fp8-fast", 45_000, 384_000),
    ("@cf/meta/llama-3.1-8b-instruct-fp8", 152_000, 287_000),
    ("@cf/meta/llama-3.1-8b-instruct-awq", 123_000, 266_000),
    ("@cf/meta/llama-3.2-1b-instruct", 27_000, 201_000),
    ("@cf/meta/llama-3.2-3b-instruct", 51_000, 335_000),
    (
        "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
        293_000,
        2_253_000,
    ),
    ("@cf/meta/llama-4-scout-17b-16e-instruct", 270_000, 850_000),
    ("@cf/mistral/mistral-7b-instruct-v0.1", 110_000, 190_000),
    (
        "@cf/mistralai/mistral-small-3.1-24b-instruct",
        351_000,
        555_000,
    ),
    ("@cf/google/gemma-3-12b-it", 345_000, 556_000),
    ("@cf/qwen/qwq-32b", 660_000, 1_000_000),
    ("@cf/openai/gpt-oss-20b", 200_000, 300_000),
    ("@cf/openai/gpt-oss-120b", 350_000, 750_000),
    ("@cf/baai/bge-small-en-v1.5", 20_000, 0),
    ("@cf/baai/bge-base-en-v1.5", 67_000, 0),
    ("@cf/baai/bge-large-en-v1.5", 204_000, 0),
    ("@cf/baai/bge-m3", 12_000, 0),
];

/// The highest price accepted in a `pricing` table: $1,000 per million tokens.
const MAX_PRICE: u64 = 1_000 * 1_000_000;

/// One model's price in micro-dollars per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ModelPrice {
    pub input: u64,
    pub output: u64,
    /// Input tokens the provider served from its cache (`None`: billed as input).
    pub cached_input: Option<u64>,
}

/// The token counts an answer is priced by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tokens {
    pub prompt: u64,
    /// Of `prompt`, the tokens read from the provider's prompt cache.
    pub cached: u64,
    pub completion: u64,
}

impl ModelPrice {
    /// What `tokens` cost at this price, in micro-dollars, rounded up.
    pub fn cost(&self, tokens: Tokens) -> u64 {
        let cached = tokens.cached.min(tokens.prompt);
        let cached_price = self.cached_input.unwrap_or(self.input);
        let part = |n: u64, price: u64| u128::from(n).saturating_mul(u128::from(price));
        let n = part(tokens.prompt - cached, self.input)
            .saturating_add(part(cached, cached_price))
            .saturating_add(part(tokens.completion, self.output));
        u64::try_from(n.div_ceil(1_000_000)).unwrap_or(u64::MAX)
    }

    /// The price a budget reserves with (cached input is not known in advance).
    pub fn reserve(&self) -> budget::Price {
        budget::Price {
            input: self.input,
            output: self.output,
        }
    }
}

/// A tenant's prices: its own `pricing` entries first, then the built-in ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PriceTable {
    own: BTreeMap<String, ModelPrice>,
}

impl PriceTable {
    /// The price of `model` (a model ref, as the chain names it), if known.
    pub fn price(&self, model: &str) -> Option<ModelPrice> {
        self.own.get(model).copied().or_else(|| {
            BUILTIN
                .iter()
                .find(|(m, ..)| *m == model)
                .map(|&(_, input, output)| ModelPrice {
                    input,
                    output,
                    cached_input: None,
                })
        })
    }

    /// The tenant's own entries.
    pub fn own(&self) -> impl Iterator<Item = (&str, &ModelPrice)> {
        self.own.iter().map(|(m, p)| (m.as_str(), p))
    }

    /// Reads a `pricing` table: `{"<model ref>": {"input": 0.282, "output": 0.827,
    /// "cachedInput": 0.1}}`, USD per million tokens.
    pub fn read(map: &Map<String, Value>) -> Result<Self, Error> {
        let mut own = BTreeMap::new();
        for (model, entry) in map {
            let path = format!("pricing.{model}");
            if model.trim().is_empty() {
                return Err(invalid("pricing", "a model ref must not be empty"));
            }
            let Value::Object(fields) = entry else {
                return Err(invalid(
                    &path,
                    format!("invalid type: {}, expected a map", describe(entry)),
                ));
            };
            let o = Obj::new(fields, &path);
            o.known(&["input", "output", "cachedInput"])?;
            let price = |key: &str| -> Result<Option<u64>, Error> {
                o.raw(key)
                    .filter(|v| !v.is_null())
                    .map(|v| {
                        let micros = micros(v, &o.path_of(key))?;
                        if micros > MAX_PRICE {
                            return Err(invalid(
                                o.path_of(key),
                                "must be at most 1000 (USD per million tokens)",
                            ));
                        }
                        Ok(micros)
                    })
                    .transpose()
            };
            let input = o.required("input", price("input")?)?;
            let output = price("output")?.unwrap_or(0);
            let cached_input = price("cachedInput")?;
            own.insert(
                model.clone(),
                ModelPrice {
                    input,
                    output,
                    cached_input,
                },
            );
        }
        Ok(Self { own })
    }
}

/// Micro-dollars from a decimal amount of dollars: a JSON number (`0.282`) or a string
/// (`"5.00"`), at most 6 decimals, never negative.
pub fn micros(v: &Value, path: &str) -> Result<u64, Error> {
    let text = match v {
        // serde_json writes small and large floats with an exponent (`1e-6`).
        Value::Number(n) => {
            let t = n.to_string();
            expand_exponent(&t).unwrap_or(t)
        }
        Value::String(s) => s.trim().to_string(),
        other => {
            return Err(invalid(
                path,
                format!(
                    "invalid type: {}, expected a decimal amount of USD",
                    describe(other)
                ),
            ))
        }
    };
    parse_micros(&text).ok_or_else(|| {
        invalid(
            path,
            format!("`{text}` is not an amount of USD (a decimal like 0.25, at most 6 decimals, not negative)"),
        )
    })
}

/// `1.5e-6` as `0.0000015`, `2e3` as `2000` (plain decimals unchanged: `None`).
fn expand_exponent(text: &str) -> Option<String> {
    let (mantissa, exp) = text.split_once(['e', 'E'])?;
    let exp: i32 = exp.parse().ok()?;
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{whole}{frac}");
    // Where the decimal point goes in `digits`.
    let point = i32::try_from(whole.len()).ok()? + exp;
    let n = i32::try_from(digits.len()).ok()?;
    Some(if point <= 0 {
        format!("0.{}{digits}", "0".repeat(usize::try_from(-point).ok()?))
    } else if point >= n {
        format!("{digits}{}", "0".repeat(usize::try_from(point - n).ok()?))
    } else {
        let (a, b) = digits.split_at(usize::try_from(point).ok()?);
        format!("{a}.{b}")
    })
}

/// Parses `"12"`, `"0.282"`, `"5.000001"` into micro-dollars.
pub fn parse_micros(text: &str) -> Option<u64> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 6 {
        return None;
    }
    if text.ends_with('.') {
        return None;
    }
    let whole: u64 = whole.parse().ok()?;
    let frac: u64 = format!("{frac:0<6}").parse().ok()?;
    whole.checked_mul(1_000_000)?.checked_add(frac)
}

/// Micro-dollars as a decimal string of dollars with 6 decimals (`1234` is `"0.001234"`).
pub fn usd(micros: u64) -> String {
    format!("{}.{:06}", micros / 1_000_000, micros % 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report(prompt: u64, completion: u64, cached: u64) -> Tokens {
        Tokens {
            prompt,
            cached,
            completion,
        }
    }

    #[test]
    fn costs_are_integer_micro_dollars_rounded_up_once() {
        let p = ModelPrice {
            input: 282_000,
            output: 827_000,
            cached_input: None,
        };
        // 1000 × 0.282 + 500 × 0.827 = 282 + 413.5 → 414 + 282 = 695.5 → 696.
        assert_eq!(p.cost(report(1000, 500, 0)), 696);
        assert_eq!(p.cost(report(0, 0, 0)), 0);
        // One token costs a fraction of a micro-dollar: rounded up to 1.
        assert_eq!(p.cost(report(1, 0, 0)), 1);
        // Exactly a million tokens: the price itself.
        assert_eq!(p.cost(report(1_000_000, 0, 0)), 282_000);
        assert_eq!(p.cost(report(0, 1_000_000, 0)), 827_000);
        // Cached input at its own price; without one, at the input price.
        let c = ModelPrice {
            cached_input: Some(14_000),
            ..p
        };
        assert_eq!(
            c.cost(report(1_000_000, 0, 400_000)),
            600_000 * 282 / 1000 + 400 * 14
        );
        assert_eq!(p.cost(report(1_000_000, 0, 400_000)), 282_000);
        // A cached count above the prompt (a confused provider) is capped at the prompt.
        assert_eq!(c.cost(report(1_000_000, 0, 2_000_000)), 14_000);
        // Huge counts saturate instead of wrapping.
        let huge = ModelPrice {
            input: u64::MAX,
            output: u64::MAX,
            cached_input: None,
        };
        assert_eq!(huge.cost(report(u64::MAX, u64::MAX, 0)), u64::MAX);
        assert_eq!(
            p.reserve(),
            budget::Price {
                input: 282_000,
                output: 827_000
            }
        );
    }

    #[test]
    fn tenant_prices_override_the_built_in_ones() {
        let t = PriceTable::read(
            json!({"@cf/meta/llama-3.1-8b-instruct": {"input": 1, "output": "2.5"},
                   "acme-openai/gpt-x": {"input": 0.15, "output": 0.6, "cachedInput": "0.075"},
                   "emb": {"input": 0.02}})
            .as_object()
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            t.price("@cf/meta/llama-3.1-8b-instruct"),
            Some(ModelPrice {
                input: 1_000_000,
                output: 2_500_000,
                cached_input: None
            })
        );
        assert_eq!(
            t.price("acme-openai/gpt-x"),
            Some(ModelPrice {
                input: 150_000,
                output: 600_000,
                cached_input: Some(75_000)
            })
        );
        assert_eq!(t.price("emb").map(|p| p.output), Some(0));
        assert_eq!(
            t.price("@cf/meta/llama-3.3-70b-instruct-fp8-fast"),
            Some(ModelPrice {
                input: 293_000,
                output: 2_253_000,
                cached_input: None
            })
        );
        assert_eq!(t.price("@cf/unknown/model"), None);
        assert_eq!(PriceTable::default().price("emb"), None);
        assert_eq!(t.own().count(), 3);
    }

    #[test]
    fn bad_pricing_tables_name_the_field() {
        let err = |v: Value| {
            PriceTable::read(v.as_object().unwrap())
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(json!({"m": 1})),
            "pricing.m: invalid type: integer `1`, expected a map"
        );
        assert_eq!(
            err(json!({"m": {"output": 1}})),
            "pricing.m.input: is required"
        );
        assert_eq!(
            err(json!({"m": {"input": -1}})),
            "pricing.m.input: `-1` is not an amount of USD (a decimal like 0.25, at most 6 decimals, not negative)"
        );
        assert_eq!(
            err(json!({"m": {"input": 1001}})),
            "pricing.m.input: must be at most 1000 (USD per million tokens)"
        );
        assert!(PriceTable::read(json!({"m": {"input": 1000}}).as_object().unwrap()).is_ok());
        assert_eq!(
            err(json!({"m": {"input": 1, "inptu": 2}})),
            "pricing.m.inptu: unknown field `inptu`, expected one of `input`, `output`, `cachedInput`"
        );
        assert_eq!(
            err(json!({" ": {"input": 1}})),
            "pricing: a model ref must not be empty"
        );
        assert_eq!(
            err(json!({"m": {"input": true}})),
            "pricing.m.input: invalid type: boolean `true`, expected a decimal amount of USD"
        );
    }

    #[test]
    fn amounts_are_read_as_decimal_text() {
        for (text, want) in [
            ("0", Some(0)),
            ("12", Some(12_000_000)),
            ("0.282", Some(282_000)),
            ("5.000001", Some(5_000_001)),
            ("0.1", Some(100_000)),
            ("5.0000001", None),
            ("-1", None),
            ("1e-3", None),
            ("", None),
            (".5", None),
            ("5.", None),
            ("1.2.3", None),
            ("18446744073709.551615", Some(u64::MAX)),
            ("18446744073709.551616", None),
        ] {
            assert_eq!(parse_micros(text), want, "{text}");
        }
        assert_eq!(micros(&json!(0.282), "x").unwrap(), 282_000);
        assert_eq!(micros(&json!(0.000001), "x").unwrap(), 1);
        assert_eq!(micros(&json!(1.5e-5), "x").unwrap(), 15);
        assert_eq!(micros(&json!(2e3), "x").unwrap(), 2_000_000_000);
        assert_eq!(micros(&json!(12), "x").unwrap(), 12_000_000);
        assert!(micros(&json!(1e-7), "x").is_err());
        assert!(
            micros(&json!("1e-6"), "x").is_err(),
            "strings are plain decimals"
        );
        assert_eq!(expand_exponent("1.25e1").as_deref(), Some("12.5"));
        assert_eq!(expand_exponent("1.25e2").as_deref(), Some("125"));
        assert_eq!(expand_exponent("1.25e3").as_deref(), Some("1250"));
        assert_eq!(expand_exponent("1.25e0").as_deref(), Some("1.25"));
        assert_eq!(expand_exponent("1.25e-1").as_deref(), Some("0.125"));
        assert_eq!(expand_exponent("1.5"), None);
        assert_eq!(micros(&json!(" 2.5 "), "x").unwrap(), 2_500_000);
        assert_eq!(usd(1234), "0.001234");
        assert_eq!(usd(5_000_000), "5.000000");
        assert_eq!(usd(0), "0.000000");
        assert_eq!(usd(12_345_678), "12.345678");
    }
}
