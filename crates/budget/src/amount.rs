//! Amounts in the two units a ledger counts (tokens and micro-dollars), limits, what remains,
//! and what one request asks for (`Demand`, with shrink-to-fit).

use serde::{Deserialize, Serialize};

/// A limit that does not limit: the unit is not budgeted.
pub const UNLIMITED: u64 = u64::MAX;

/// Micro-dollars in a dollar.
pub const MICROS_PER_USD: u64 = 1_000_000;

/// The unit a limit or a refusal is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    Tokens,
    /// Counted in micro-dollars.
    Usd,
}

/// Tokens and micro-dollars (millionths of a US dollar), counted together.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Amount {
    pub tokens: u64,
    #[serde(default)]
    pub micros: u64,
}

impl Amount {
    pub const ZERO: Self = Self {
        tokens: 0,
        micros: 0,
    };
    /// No limit in either unit.
    pub const UNLIMITED: Self = Self {
        tokens: UNLIMITED,
        micros: UNLIMITED,
    };

    pub const fn tokens(tokens: u64) -> Self {
        Self { tokens, micros: 0 }
    }

    pub fn get(self, unit: Unit) -> u64 {
        match unit {
            Unit::Tokens => self.tokens,
            Unit::Usd => self.micros,
        }
    }

    pub fn plus(self, o: Self) -> Self {
        Self {
            tokens: self.tokens.saturating_add(o.tokens),
            micros: self.micros.saturating_add(o.micros),
        }
    }

    pub fn minus(self, o: Self) -> Self {
        Self {
            tokens: self.tokens.saturating_sub(o.tokens),
            micros: self.micros.saturating_sub(o.micros),
        }
    }

    /// Each unit the smaller of the two.
    pub fn min(self, o: Self) -> Self {
        Self {
            tokens: self.tokens.min(o.tokens),
            micros: self.micros.min(o.micros),
        }
    }

    /// Whether both units of `self` are within `room`.
    pub fn fits_in(self, room: Self) -> bool {
        self.tokens <= room.tokens && self.micros <= room.micros
    }
}

/// A ledger's limits per window; a unit without a limit is `UNLIMITED`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub daily: Amount,
    pub monthly: Amount,
}

impl Limits {
    /// Token limits only.
    pub const fn tokens(daily: u64, monthly: u64) -> Self {
        Self {
            daily: Amount {
                tokens: daily,
                micros: UNLIMITED,
            },
            monthly: Amount {
                tokens: monthly,
                micros: UNLIMITED,
            },
        }
    }

    /// Whether every limit of `self` is at least the matching one of `other`.
    pub fn at_least(self, other: Self) -> bool {
        other.daily.fits_in(self.daily) && other.monthly.fits_in(self.monthly)
    }
}

/// What is left in each window (never negative; `UNLIMITED` minus something for an unlimited unit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remaining {
    pub daily: Amount,
    pub monthly: Amount,
}

impl Remaining {
    /// Each window and unit the smaller of the two (the tightest of nested budgets).
    pub fn min(self, o: Self) -> Self {
        Self {
            daily: self.daily.min(o.daily),
            monthly: self.monthly.min(o.monthly),
        }
    }

    /// What both windows leave: the room a request has.
    pub fn room(self) -> Amount {
        self.daily.min(self.monthly)
    }
}

/// A figure worth showing a client: `None` for an unlimited unit.
pub fn shown(value: u64) -> Option<u64> {
    (value < UNLIMITED / 2).then_some(value)
}

/// A price in micro-dollars per million tokens (so $0.045 per M is 45,000).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Price {
    pub input: u64,
    pub output: u64,
}

impl Price {
    /// The cost of `input` and `output` tokens in micro-dollars, rounded up (a budget is never
    /// under-charged by rounding).
    pub fn cost(self, input: u64, output: u64) -> u64 {
        let n = (u128::from(self.input) * u128::from(input))
            .saturating_add(u128::from(self.output) * u128::from(output));
        u64::try_from(n.div_ceil(1_000_000)).unwrap_or(UNLIMITED)
    }

    /// Each side the larger of the two: the worst case of a chain of models.
    pub fn max(self, o: Self) -> Self {
        Self {
            input: self.input.max(o.input),
            output: self.output.max(o.output),
        }
    }
}

/// What one request asks of a ledger: its prompt, the output cap it would like, the least
/// output worth admitting it with (shrink-to-fit), and the worst-case price of its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Demand {
    pub prompt: u64,
    pub output: u64,
    pub min_output: u64,
    #[serde(default)]
    pub price: Price,
}

impl Demand {
    /// A demand that takes its whole output cap or nothing, in tokens only.
    pub fn exact(prompt: u64, output: u64) -> Self {
        Self {
            prompt,
            output,
            min_output: output,
            price: Price::default(),
        }
    }

    /// The amount of the request with `output` tokens of output.
    pub fn amount(&self, output: u64) -> Amount {
        Amount {
            tokens: self.prompt.saturating_add(output),
            micros: self.price.cost(self.prompt, output),
        }
    }

    /// The amount with the whole output cap.
    pub fn full(&self) -> Amount {
        self.amount(self.output)
    }

    /// The same demand with its output cap lowered to `output` (never raised).
    pub fn capped(self, output: u64) -> Self {
        let output = self.output.min(output);
        Self {
            output,
            min_output: self.min_output.min(output),
            ..self
        }
    }

    /// The largest output cap in `[min_output, output]` whose amount fits in `room`, or `None`
    /// when not even `min_output` fits.
    pub fn fit(&self, room: Amount) -> Option<u64> {
        let by_tokens = room.tokens.checked_sub(self.prompt)?;
        let by_cost = {
            let budget = u128::from(room.micros) * 1_000_000;
            let prompt_cost = u128::from(self.price.input) * u128::from(self.prompt);
            let left = budget.checked_sub(prompt_cost)?;
            match self.price.output {
                0 => UNLIMITED,
                p => u64::try_from(left / u128::from(p)).unwrap_or(UNLIMITED),
            }
        };
        let output = self.output.min(by_tokens).min(by_cost);
        (output >= self.min_output).then_some(output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn costs_round_up_to_the_micro_dollar() {
        let p = Price {
            input: 45_000,
            output: 384_000,
        };
        assert_eq!(p.cost(0, 0), 0);
        assert_eq!(p.cost(1_000_000, 0), 45_000);
        assert_eq!(p.cost(0, 1_000_000), 384_000);
        assert_eq!(p.cost(1, 0), 1, "0.045 micro-dollars rounds up to 1");
        assert_eq!(p.cost(100, 10), 9, "4.5 + 3.84 = 8.34 -> 9");
        assert_eq!(Price::default().cost(u64::MAX, u64::MAX), 0);
        let huge = Price {
            input: u64::MAX,
            output: u64::MAX,
        };
        assert_eq!(huge.cost(u64::MAX, u64::MAX), UNLIMITED);
        assert_eq!(
            p.max(Price {
                input: 50_000,
                output: 1
            }),
            Price {
                input: 50_000,
                output: 384_000
            }
        );
    }

    fn demand(prompt: u64, output: u64, min_output: u64, price: (u64, u64)) -> Demand {
        Demand {
            prompt,
            output,
            min_output,
            price: Price {
                input: price.0,
                output: price.1,
            },
        }
    }

    fn room(tokens: u64, micros: u64) -> Amount {
        Amount { tokens, micros }
    }

    #[test]
    fn a_demand_fits_the_largest_output_the_room_allows() {
        let check = |d: Demand, r: Amount, want: Option<u64>| {
            assert_eq!(d.fit(r), want, "{d:?} in {r:?}");
        };
        let free = (0, 0);
        check(demand(100, 1024, 64, free), Amount::UNLIMITED, Some(1024));
        check(
            demand(100, 1024, 64, free),
            room(1124, UNLIMITED),
            Some(1024),
        );
        check(
            demand(100, 1024, 64, free),
            room(1123, UNLIMITED),
            Some(1023),
        );
        check(demand(100, 1024, 64, free), room(164, UNLIMITED), Some(64));
        check(demand(100, 1024, 64, free), room(163, UNLIMITED), None);
        check(demand(100, 1024, 64, free), room(99, UNLIMITED), None);
        check(demand(100, 1024, 1024, free), room(1123, UNLIMITED), None);
        // Cost: $1 per M input, $2 per M output; room of 1000 micro-dollars (1e9 micro-units).
        let priced = (1_000_000, 2_000_000);
        // 100 input tokens cost 100 micro-dollars; 450 output tokens 900 more.
        check(
            demand(100, 1024, 64, priced),
            room(UNLIMITED, 1_000),
            Some(450),
        );
        check(
            demand(100, 400, 64, priced),
            room(UNLIMITED, 1_000),
            Some(400),
        );
        check(demand(100, 1024, 64, priced), room(UNLIMITED, 227), None);
        check(
            demand(100, 1024, 64, priced),
            room(UNLIMITED, 228),
            Some(64),
        );
        check(demand(100, 1024, 64, priced), room(UNLIMITED, 99), None);
        // Both units: the tighter wins.
        check(demand(100, 1024, 64, priced), room(300, 1_000), Some(200));
        // A price without an output part limits by the prompt's cost only.
        check(
            demand(100, 1024, 64, (1_000_000, 0)),
            room(UNLIMITED, 100),
            Some(1024),
        );
        check(
            demand(100, 1024, 64, (1_000_000, 0)),
            room(UNLIMITED, 99),
            None,
        );
        // The amount at the fitted output fits the room.
        let d = demand(37, 999, 1, (45_000, 384_000));
        for micros in [1u64, 5, 17, 100, 383, 1_000] {
            if let Some(o) = d.fit(room(UNLIMITED, micros)) {
                assert!(d.amount(o).micros <= micros, "{o} at {micros}");
                assert!(
                    o == d.output || d.amount(o + 1).micros > micros,
                    "{o} is the largest at {micros}"
                );
            }
        }
    }

    #[test]
    fn amounts_add_subtract_and_compare_per_unit() {
        let a = room(10, 5);
        let b = room(3, 7);
        assert_eq!(a.plus(b), room(13, 12));
        assert_eq!(a.minus(b), room(7, 0));
        assert_eq!(a.min(b), room(3, 5));
        assert!(room(10, 5).fits_in(room(10, 5)));
        assert!(!room(11, 5).fits_in(room(10, 5)));
        assert!(!room(10, 6).fits_in(room(10, 5)));
        assert_eq!(Amount::UNLIMITED.plus(a), Amount::UNLIMITED);
        assert_eq!((a.get(Unit::Tokens), a.get(Unit::Usd)), (10, 5));
        let l = Limits::tokens(100, 1000);
        assert!(l.at_least(Limits::tokens(100, 1000)));
        assert!(l.at_least(Limits::tokens(99, 1000)));
        assert!(!l.at_least(Limits::tokens(101, 1000)));
        assert!(!l.at_least(Limits::tokens(100, 1001)));
        let with_cost = Limits {
            daily: room(100, 5),
            monthly: room(1000, UNLIMITED),
        };
        assert!(l.at_least(with_cost), "no cost limit is looser than any");
        assert!(!with_cost.at_least(l));
        assert_eq!(shown(5), Some(5));
        assert_eq!(shown(UNLIMITED - 10), None);
        let r = Remaining {
            daily: room(5, 50),
            monthly: room(7, 40),
        };
        assert_eq!(r.room(), room(5, 40));
        assert_eq!(
            d_capped(),
            Demand {
                prompt: 1,
                output: 10,
                min_output: 10,
                price: Price::default()
            }
        );
    }

    #[test]
    fn shown_hides_only_unlimited_figures_and_full_is_the_whole_cap() {
        // An unlimited unit minus any real usage stays at or above half of UNLIMITED.
        assert_eq!(shown(UNLIMITED / 2 - 1), Some(UNLIMITED / 2 - 1));
        assert_eq!(shown(UNLIMITED / 2), None);
        let d = demand(100, 1024, 64, (1_000_000, 2_000_000));
        assert_eq!(d.full(), room(1124, 100 + 2048));
        assert_eq!(d.full(), d.amount(d.output));
    }

    fn d_capped() -> Demand {
        Demand::exact(1, 100).capped(10)
    }
}
