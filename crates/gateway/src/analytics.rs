//! One Workers Analytics Engine data point per metered request: its fixed schema (docs/usage.md) built from the request's log line.

use crate::credential::sha256_hex;
use crate::log::RequestLog;
use crate::usage::Cost;

/// A data point as the Analytics Engine binding takes it: one index, then blobs and doubles in
/// the documented order (`blob1`.. and `double1`.. in the SQL API).
#[derive(Debug, Clone, PartialEq)]
pub struct DataPoint {
    /// The sampling key: the tenant id.
    pub index: String,
    /// tenant, key id, hashed user, model, provider, route, status, finish.
    pub blobs: [String; 8],
    /// prompt tokens, completion tokens, cost in micro-dollars (-1 unknown), latency ms,
    /// time to first token ms (0 without one), HTTP status.
    pub doubles: [f64; 6],
}

impl DataPoint {
    /// The data point of a finished request; `provider` names the answering model's provider.
    pub fn from_log(log: &RequestLog, provider: &str) -> Self {
        let tokens = log.tokens.unwrap_or_default();
        let cost = match tokens.cost {
            Cost::Known(m) => m as f64,
            Cost::Unknown => -1.0,
        };
        let user = log
            .user_id
            .as_deref()
            .map_or_else(String::new, |u| user_hash(&log.tenant_id, u));
        Self {
            index: log.tenant_id.clone(),
            blobs: [
                log.tenant_id.clone(),
                log.key_id.clone().unwrap_or_default(),
                user,
                log.model.clone().unwrap_or_default(),
                provider.to_string(),
                log.route.clone(),
                log.error_code.clone().unwrap_or_else(|| "ok".into()),
                log.finish.unwrap_or_default().to_string(),
            ],
            doubles: [
                tokens.prompt as f64,
                tokens.completion as f64,
                cost,
                log.latency_ms as f64,
                log.ttft_ms.unwrap_or(0) as f64,
                f64::from(log.status),
            ],
        }
    }
}

/// An end user as the data point names them: the first 16 hex digits of SHA-256 of
/// `<tenant>:<user>`, so a dataset shared by tenants never shows a user id.
pub fn user_hash(tenant: &str, user: &str) -> String {
    let mut hex = sha256_hex(format!("{tenant}:{user}").as_bytes());
    hex.truncate(16);
    hex
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::TokenReport;

    fn log() -> RequestLog {
        RequestLog {
            tenant_id: "acme".into(),
            key_id: Some("k1".into()),
            user_id: Some("alice".into()),
            route: "/v1/chat/completions".into(),
            status: 200,
            model: Some("@cf/meta/llama-3.1-8b-instruct".into()),
            latency_ms: 420,
            ttft_ms: Some(95),
            finish: Some("stop"),
            tokens: Some(TokenReport {
                prompt: 12,
                completion: 30,
                total: 42,
                cost: Cost::Known(1234),
                ..TokenReport::default()
            }),
            ..RequestLog::default()
        }
    }

    #[test]
    fn a_request_becomes_the_documented_blobs_and_doubles() {
        let p = DataPoint::from_log(&log(), "workers-ai");
        assert_eq!(p.index, "acme");
        assert_eq!(
            p.blobs,
            [
                "acme",
                "k1",
                user_hash("acme", "alice").as_str(),
                "@cf/meta/llama-3.1-8b-instruct",
                "workers-ai",
                "/v1/chat/completions",
                "ok",
                "stop"
            ]
            .map(String::from)
        );
        assert_eq!(p.doubles, [12.0, 30.0, 1234.0, 420.0, 95.0, 200.0]);
    }

    #[test]
    fn unknown_parts_are_empty_or_minus_one() {
        let mut l = log();
        l.key_id = None;
        l.user_id = None;
        l.model = None;
        l.finish = None;
        l.ttft_ms = None;
        l.status = 429;
        l.error_code = Some("budget_exceeded".into());
        l.tokens = Some(TokenReport {
            cost: Cost::Unknown,
            ..TokenReport::default()
        });
        let p = DataPoint::from_log(&l, "");
        assert_eq!(&p.blobs[1..5], ["", "", "", ""].map(String::from));
        assert_eq!(p.blobs[6], "budget_exceeded");
        assert_eq!(p.blobs[7], "");
        assert_eq!(p.doubles, [0.0, 0.0, -1.0, 420.0, 0.0, 429.0]);
    }

    #[test]
    fn users_are_hashed_per_tenant() {
        let h = user_hash("acme", "alice");
        assert_eq!(h.len(), 16);
        assert!(h.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(h, user_hash("globex", "alice"));
        assert_ne!(h, user_hash("acme", "bob"));
        // `printf 'acme:alice' | sha256sum | cut -c1-16`
        assert_eq!(h, "a50389e4b9338744");
    }
}
