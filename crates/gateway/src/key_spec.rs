//! `KeySpec`: the body of `POST /admin/keys` checked into what a new key gets (name, scopes,
//! budget, rate limit, expiry), every rule with the field it is about.

use serde_json::Value;

use crate::credential::{ClientBudget, DEFAULT_SCOPES, SCOPES};
use crate::error::Error;
use crate::json::{invalid, object_body, Obj};

/// What a new key gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpec {
    pub name: String,
    pub scopes: Vec<String>,
    pub budget: Option<ClientBudget>,
    pub expires_at: Option<u64>,
    pub rate_limit: Option<u32>,
    /// Knowledge-base groups (`groups`): at most [`MAX_KEY_GROUPS`] names of 1 to 32 characters.
    pub groups: Vec<String>,
}

/// At most this many `groups` on a key: they travel in the key's KV metadata (1,024 bytes).
pub const MAX_KEY_GROUPS: usize = 16;

const FIELDS: &[&str] = &[
    "name",
    "scopes",
    "budget",
    "expiresAt",
    "rateLimit",
    "groups",
];

/// A whole number in `[lo, hi]` at `path`.
fn whole(
    v: Option<&Value>,
    path: &str,
    lo: u64,
    hi: u64,
    rule: &str,
) -> Result<Option<u64>, Error> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(n) => match n.as_u64() {
            Some(n) if (lo..=hi).contains(&n) => Ok(Some(n)),
            _ => Err(invalid(path, rule)),
        },
    }
}

/// A key's `budget`: tokens (`daily`, `monthly`) and dollars (`dailyUsd`, `monthlyUsd`), any of
/// them, at least one; each > 0 and daily <= monthly in each unit.
fn read_budget(b: &Obj<'_>) -> Result<ClientBudget, Error> {
    b.known(&["daily", "monthly", "dailyUsd", "monthlyUsd"])?;
    let rule =
        "needs at least one of daily, monthly, dailyUsd, monthlyUsd; each > 0 and daily <= monthly";
    let tokens = |k: &str| whole(b.raw(k), "budget", 1, u64::MAX, rule);
    let usd = |k: &str| -> Result<Option<u64>, Error> {
        match b.get(k) {
            None => Ok(None),
            Some(v) => match crate::pricing::micros(v, &b.path_of(k))? {
                0 => Err(invalid("budget", rule)),
                m => Ok(Some(m)),
            },
        }
    };
    let budget = ClientBudget {
        daily: tokens("daily")?,
        monthly: tokens("monthly")?,
        daily_micros: usd("dailyUsd")?,
        monthly_micros: usd("monthlyUsd")?,
    };
    let ordered = |d: Option<u64>, m: Option<u64>| d.zip(m).is_none_or(|(d, m)| d <= m);
    if budget == ClientBudget::default()
        || !ordered(budget.daily, budget.monthly)
        || !ordered(budget.daily_micros, budget.monthly_micros)
    {
        return Err(invalid("budget", rule));
    }
    Ok(budget)
}

impl KeySpec {
    /// Checks a `POST /admin/keys` body at `now_s` (unix seconds).
    pub fn from_body(body: &[u8], now_s: u64) -> Result<Self, Error> {
        let map = object_body(body)?;
        let o = Obj::new(&map, "");
        o.known(FIELDS)?;
        let name = o.required("name", o.str("name")?)?;
        if name.trim().is_empty() || name.chars().count() > 64 {
            return Err(invalid("name", "must be 1-64 characters"));
        }
        let scopes = o
            .strings("scopes")?
            .unwrap_or_else(|| DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect());
        if let Some(bad) = scopes.iter().find(|s| !SCOPES.contains(&s.as_str())) {
            return Err(invalid(
                "scopes",
                format!("`{bad}` is not one of `chat`, `models`"),
            ));
        }
        let budget = match o.object("budget")? {
            None => None,
            Some(b) => Some(read_budget(&Obj::new(b, "budget"))?),
        };
        let rate_limit = whole(
            o.raw("rateLimit"),
            "rateLimit",
            1,
            100_000,
            "must be between 1 and 100000 requests per minute",
        )?
        .and_then(|r| u32::try_from(r).ok());
        let expires_at = whole(
            o.raw("expiresAt"),
            "expiresAt",
            now_s + 1,
            u64::MAX,
            "must be in the future (unix seconds)",
        )?;
        let groups = o.strings("groups")?.unwrap_or_default();
        let bad_group = |g: &String| knowledge::GroupName::parse(g).is_err();
        if groups.len() > MAX_KEY_GROUPS || groups.iter().any(bad_group) {
            return Err(invalid(
                "groups",
                "must be at most 16 group names of 1 to 32 characters of `A-Z a-z 0-9 . _ -`",
            ));
        }
        Ok(Self {
            name: name.to_string(),
            scopes,
            budget,
            expires_at,
            rate_limit,
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn check(body: &str, want: Result<KeySpec, &str>) {
        let got = KeySpec::from_body(body.as_bytes(), NOW).map_err(|e| e.to_string());
        assert_eq!(got, want.map_err(str::to_owned), "{body}");
    }

    fn spec(name: &str) -> KeySpec {
        KeySpec {
            groups: Vec::new(),
            name: name.into(),
            scopes: vec!["chat".into(), "models".into()],
            budget: None,
            expires_at: None,
            rate_limit: None,
        }
    }

    #[test]
    fn a_key_spec_and_its_defaults() {
        check(r#"{"name":"ci"}"#, Ok(spec("ci")));
        check(
            r#"{"name":"ci","scopes":["models"],"budget":{"daily":5,"monthly":5},"expiresAt":1800000001,"rateLimit":100000}"#,
            Ok(KeySpec {
                scopes: vec!["models".into()],
                budget: Some(ClientBudget {
                    daily: Some(5),
                    monthly: Some(5),
                    ..ClientBudget::default()
                }),
                expires_at: Some(NOW + 1),
                rate_limit: Some(100_000),
                ..spec("ci")
            }),
        );
        check(
            &format!(r#"{{"name":"{}"}}"#, "é".repeat(64)),
            Ok(spec(&"é".repeat(64))),
        );
        check(
            r#"{"name":"x","rateLimit":1,"budget":null}"#,
            Ok(KeySpec {
                rate_limit: Some(1),
                ..spec("x")
            }),
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        check("{}", Err("name: is required"));
        check(r#"{"name":""}"#, Err("name: must be 1-64 characters"));
        check(r#"{"name":"  "}"#, Err("name: must be 1-64 characters"));
        check(
            &format!(r#"{{"name":"{}"}}"#, "n".repeat(65)),
            Err("name: must be 1-64 characters"),
        );
        check(
            r#"{"name":1}"#,
            Err("name: invalid type: integer `1`, expected a string"),
        );
        check(
            r#"{"name":"x","scopes":["admin"]}"#,
            Err("scopes: `admin` is not one of `chat`, `models`"),
        );
        check(
            r#"{"name":"x","scopes":"chat"}"#,
            Err("scopes: invalid type: string \"chat\", expected a sequence"),
        );
        let rule = "budget: needs at least one of daily, monthly, dailyUsd, monthlyUsd; each > 0 and daily <= monthly";
        for b in [
            r#"{"daily":0,"monthly":100}"#,
            r#"{"daily":200,"monthly":100}"#,
            r#"{}"#,
            r#"{"daily":null}"#,
            r#"{"daily":-1,"monthly":1}"#,
            r#"{"daily":"1","monthly":1}"#,
            r#"{"dailyUsd":0}"#,
            r#"{"dailyUsd":"2.5","monthlyUsd":2}"#,
        ] {
            check(&format!(r#"{{"name":"x","budget":{b}}}"#), Err(rule));
        }
        check(
            r#"{"name":"x","budget":{"dailyUsd":"-1"}}"#,
            Err("budget.dailyUsd: `-1` is not an amount of USD (a decimal like 0.25, at most 6 decimals, not negative)"),
        );
        check(
            r#"{"name":"x","budget":{"daily":1,"monthly":1,"weekly":1}}"#,
            Err("budget.weekly: unknown field `weekly`, expected one of `daily`, `monthly`, `dailyUsd`, `monthlyUsd`"),
        );
        // Any one limit is enough; dollars as numbers or strings.
        let budget = |b: &str| {
            KeySpec::from_body(format!(r#"{{"name":"x","budget":{b}}}"#).as_bytes(), NOW)
                .unwrap()
                .budget
                .unwrap()
        };
        assert_eq!(
            budget(r#"{"daily":1}"#),
            ClientBudget {
                daily: Some(1),
                ..ClientBudget::default()
            }
        );
        assert_eq!(
            budget(r#"{"dailyUsd":1.5,"monthlyUsd":"1.5"}"#),
            ClientBudget {
                daily_micros: Some(1_500_000),
                monthly_micros: Some(1_500_000),
                ..ClientBudget::default()
            }
        );
        assert_eq!(budget(r#"{"monthlyUsd":0.000001}"#).monthly_micros, Some(1));
        for r in ["0", "100001", "1.5", "\"5\""] {
            check(
                &format!(r#"{{"name":"x","rateLimit":{r}}}"#),
                Err("rateLimit: must be between 1 and 100000 requests per minute"),
            );
        }
        for e in ["1800000000", "\"tomorrow\"", "-1"] {
            check(
                &format!(r#"{{"name":"x","expiresAt":{e}}}"#),
                Err("expiresAt: must be in the future (unix seconds)"),
            );
        }
        check(r#"{"name":"x","owner":"me"}"#, Err("owner: unknown field `owner`, expected one of `name`, `scopes`, `budget`, `expiresAt`, `rateLimit`, `groups`"));
        let groups_rule =
            "groups: must be at most 16 group names of 1 to 32 characters of `A-Z a-z 0-9 . _ -`";
        check(r#"{"name":"x","groups":["a b"]}"#, Err(groups_rule));
        check(r#"{"name":"x","groups":[""]}"#, Err(groups_rule));
        let many: Vec<String> = (0..17).map(|i| format!("\"g{i}\"")).collect();
        check(
            &format!(r#"{{"name":"x","groups":[{}]}}"#, many.join(",")),
            Err(groups_rule),
        );
        let mut sixteen = spec("x");
        sixteen.groups = many[..16]
            .iter()
            .map(|g| g.trim_matches('"').to_string())
            .collect();
        check(
            &format!(r#"{{"name":"x","groups":[{}]}}"#, many[..16].join(",")),
            Ok(sixteen),
        );
        let mut staff = spec("x");
        staff.groups = vec!["staff".into(), "eu-support".into()];
        check(r#"{"name":"x","groups":["staff","eu-support"]}"#, Ok(staff));
        check(
            r#"{"name":"x"} trailing"#,
            Err("body is not valid JSON: trailing characters at line 1 column 14"),
        );
    }
}
