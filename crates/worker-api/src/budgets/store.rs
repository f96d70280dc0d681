//! The two `BudgetStore`s: a Durable Object ledger per tenant (exact) and KV shards (approximate).

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use budget::lease::LeaseGrant;
use budget::{
    Admission, Amount, BudgetStore, Demand, External, Limits, Remaining, UsageLedger, Windows,
    RESERVATION_TTL_MS,
};
use gateway::tenant::BudgetStoreKind;
use serde::{Deserialize, Serialize};
use serde_json::json;
use worker::{
    durable_object, DurableObject, Env, KvStore, Method, Request, Response, SqlStorage, State, Stub,
};

use crate::clock::now_ms;
use crate::http;

/// The Durable Object binding of the exact ledger.
pub const LEDGER_BINDING: &str = "BUDGET_LEDGER";
/// The KV binding of the approximate shards.
pub const KV_BINDING: &str = "BUDGET_KV";

/// The binding a budget store needs.
pub fn binding_for(kind: BudgetStoreKind) -> &'static str {
    match kind {
        BudgetStoreKind::DurableObject => LEDGER_BINDING,
        BudgetStoreKind::Kv => KV_BINDING,
    }
}

/// A tenant's store, chosen by `budget.store` in its config.
pub enum TenantBudget {
    Ledger(DoLedger),
    Kv(KvShards),
}

impl TenantBudget {
    /// The ledger named `name`: a tenant id, or `<tenant>/key/<id>` and `<tenant>/user/<sub>`
    /// for the budgets of one key or end user (names always start with the tenant, so no
    /// tenant can reach another's ledgers).
    pub fn open(env: &Env, name: &str, kind: BudgetStoreKind) -> Result<Self, budget::Error> {
        let err = |e: worker::Error| budget::Error::Store(e.to_string());
        Ok(match kind {
            BudgetStoreKind::DurableObject => Self::Ledger(DoLedger::open(env, name)?),
            BudgetStoreKind::Kv => Self::Kv(KvShards {
                kv: env.kv(KV_BINDING).map_err(err)?,
                tenant: name.to_string(),
            }),
        })
    }

    /// What the current day and month used (Durable Object ledgers only; `None` for KV,
    /// whose totals are spread over shards).
    pub async fn used(&self, now_ms: i64) -> Option<(Amount, Amount)> {
        match self {
            Self::Ledger(l) => {
                let mut ledger: UsageLedger = l.call(&LedgerOp::State).await.ok()?;
                ledger.roll(now_ms);
                Some((ledger.used_today(), ledger.used_this_month()))
            }
            Self::Kv(_) => None,
        }
    }
}

impl TenantBudget {
    /// Background work a settlement leaves (the KV shard write); nothing for the ledger.
    pub async fn after_settle(self) {
        if let Self::Kv(kv) = self {
            kv.flush_when_due().await;
        }
    }
}

impl BudgetStore for TenantBudget {
    async fn reserve(
        &self,
        now_ms: i64,
        id: &str,
        demand: Demand,
        limits: Limits,
    ) -> Result<Admission, budget::Error> {
        match self {
            Self::Ledger(s) => s.reserve(now_ms, id, demand, limits).await,
            Self::Kv(s) => s.reserve(now_ms, id, demand, limits).await,
        }
    }

    async fn settle(
        &self,
        now_ms: i64,
        id: &str,
        actual: Amount,
        limits: Limits,
    ) -> Result<Remaining, budget::Error> {
        match self {
            Self::Ledger(s) => s.settle(now_ms, id, actual, limits).await,
            Self::Kv(s) => s.settle(now_ms, id, actual, limits).await,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Durable Object ledger

/// One operation on the ledger, sent to the tenant's object as JSON.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
enum LedgerOp {
    Reserve {
        now_ms: i64,
        id: String,
        demand: Demand,
        limits: Limits,
    },
    Settle {
        now_ms: i64,
        id: String,
        actual: Amount,
        limits: Limits,
    },
    Lease {
        now_ms: i64,
        id: String,
        amount: Amount,
        limits: Limits,
    },
    Report {
        now_ms: i64,
        id: String,
        used: Amount,
        release: bool,
        limits: Limits,
    },
    State,
}

/// The client side: the tenant's `BudgetLedger` object.
pub struct DoLedger {
    stub: Stub,
}

impl DoLedger {
    /// The ledger object named `name`.
    pub fn open(env: &Env, name: &str) -> Result<Self, budget::Error> {
        let err = |e: worker::Error| budget::Error::Store(e.to_string());
        let ns = env.durable_object(LEDGER_BINDING).map_err(err)?;
        Ok(Self {
            stub: ns.get_by_name(name).map_err(err)?,
        })
    }

    async fn call<T: for<'de> Deserialize<'de>>(&self, op: &LedgerOp) -> Result<T, budget::Error> {
        let body = serde_json::to_string(op).map_err(|e| budget::Error::Store(e.to_string()))?;
        let (status, text) = http::call_object(&self.stub, "https://budget-ledger/op", &body)
            .await
            .map_err(budget::Error::Store)?;
        if status != 200 {
            return Err(budget::Error::Store(format!(
                "ledger answered {status}: {text}"
            )));
        }
        serde_json::from_str(&text).map_err(|e| budget::Error::Store(e.to_string()))
    }

    /// Asks for a lease for requests reserving `amount` (`None`: too close to the limit).
    pub async fn lease(
        &self,
        now_ms: i64,
        id: &str,
        amount: Amount,
        limits: Limits,
    ) -> Result<Option<LeaseGrant>, budget::Error> {
        self.call(&LedgerOp::Lease {
            now_ms,
            id: id.into(),
            amount,
            limits,
        })
        .await
    }

    /// Reports usage under lease `id`, and with `release` gives back the rest.
    pub async fn report(
        &self,
        now_ms: i64,
        id: &str,
        used: Amount,
        release: bool,
        limits: Limits,
    ) -> Result<Remaining, budget::Error> {
        self.call(&LedgerOp::Report {
            now_ms,
            id: id.into(),
            used,
            release,
            limits,
        })
        .await
    }

    async fn reserve(
        &self,
        now_ms: i64,
        id: &str,
        demand: Demand,
        limits: Limits,
    ) -> Result<Admission, budget::Error> {
        self.call(&LedgerOp::Reserve {
            now_ms,
            id: id.into(),
            demand,
            limits,
        })
        .await
    }

    async fn settle(
        &self,
        now_ms: i64,
        id: &str,
        actual: Amount,
        limits: Limits,
    ) -> Result<Remaining, budget::Error> {
        self.call(&LedgerOp::Settle {
            now_ms,
            id: id.into(),
            actual,
            limits,
        })
        .await
    }
}

/// The SQLite-backed Durable Object holding one tenant's `UsageLedger`. Each operation loads,
/// decides and saves with synchronous SQL calls and no `.await` in between, so concurrent
/// requests are serialized: reservations can never admit more than the limit.
#[durable_object]
pub struct BudgetLedger {
    sql: SqlStorage,
}

#[derive(Deserialize)]
struct LedgerRow {
    json: String,
}

impl BudgetLedger {
    fn load(&self) -> worker::Result<UsageLedger> {
        let rows: Vec<LedgerRow> = self
            .sql
            .exec("SELECT json FROM ledger WHERE id = 1", None)?
            .to_array()?;
        match rows.first() {
            Some(r) => {
                serde_json::from_str(&r.json).map_err(|e| worker::Error::RustError(e.to_string()))
            }
            None => Ok(UsageLedger::default()),
        }
    }

    fn save(&self, ledger: &UsageLedger) -> worker::Result<()> {
        let json =
            serde_json::to_string(ledger).map_err(|e| worker::Error::RustError(e.to_string()))?;
        self.sql.exec(
            "INSERT OR REPLACE INTO ledger (id, json) VALUES (1, ?)",
            vec![json.into()],
        )?;
        Ok(())
    }

    fn apply(&self, op: LedgerOp) -> worker::Result<serde_json::Value> {
        let mut ledger = self.load()?;
        let out = match op {
            LedgerOp::Reserve {
                now_ms,
                id,
                demand,
                limits,
            } => {
                json!(ledger.reserve(
                    now_ms,
                    &id,
                    demand,
                    RESERVATION_TTL_MS,
                    limits,
                    External::default()
                ))
            }
            LedgerOp::Settle {
                now_ms,
                id,
                actual,
                limits,
            } => json!(ledger.settle(now_ms, &id, actual, limits, External::default())),
            LedgerOp::Lease {
                now_ms,
                id,
                amount,
                limits,
            } => json!(ledger.grant_lease(now_ms, &id, amount, limits, External::default())),
            LedgerOp::Report {
                now_ms,
                id,
                used,
                release,
                limits,
            } => {
                json!(ledger.report_lease(now_ms, &id, used, release, limits, External::default()))
            }
            LedgerOp::State => return Ok(json!(ledger)),
        };
        self.save(&ledger)?;
        Ok(out)
    }
}

impl DurableObject for BudgetLedger {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        // Creating the table is synchronous; a failure here surfaces on the first operation.
        let _ = sql.exec(
            "CREATE TABLE IF NOT EXISTS ledger (id INTEGER PRIMARY KEY, json TEXT NOT NULL)",
            None,
        );
        Self { sql }
    }

    async fn fetch(&self, mut req: Request) -> worker::Result<Response> {
        let op = if req.method() == Method::Get {
            LedgerOp::State
        } else {
            // Parsed by serde_json, not through a JS object: limits may be `u64::MAX`, which a
            // JS number cannot hold.
            serde_json::from_str::<LedgerOp>(&req.text().await?)
                .map_err(|e| worker::Error::RustError(e.to_string()))?
        };
        match self.apply(op) {
            Ok(v) => Response::from_json(&v),
            Err(e) => Response::error(e.to_string(), 500),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// KV shards

/// Budget counters in Workers KV. Each isolate owns one shard key per window
/// (`budget/<tenant>/d/<day>/<isolate>` and `.../m/<month>/<isolate>`), holding what that
/// isolate has settled, in the key's metadata. A shard is rewritten at most once per second
/// (KV's per-key write limit); other isolates' shards are listed at most every
/// `OTHERS_TTL_MS`. Admission checks this isolate's exact ledger plus the others' last-read
/// totals, so it is exact within one isolate and approximate across isolates
/// (docs/budgets.md gives the bound).
pub struct KvShards {
    kv: KvStore,
    tenant: String,
}

/// How long other isolates' totals are reused before listing the shards again.
const OTHERS_TTL_MS: i64 = 5_000;
/// KV allows one write per second per key.
const MIN_FLUSH_GAP_MS: i64 = 1_000;

struct IsolateShard {
    id: String,
    ledger: UsageLedger,
    others: External,
    others_read_ms: i64,
    others_window: (i64, i64),
    last_flush_ms: i64,
    flush_scheduled: bool,
}

thread_local! {
    /// One shard per ledger name (a tenant, `<tenant>/key/<id>`, `<tenant>/user/<sub>`).
    static SHARDS: RefCell<HashMap<String, IsolateShard>> = RefCell::new(HashMap::new());
    /// This isolate's id in shard keys.
    static ISOLATE_ID: String = uuid::Uuid::new_v4().simple().to_string();
}

fn with_shard<T>(name: &str, f: impl FnOnce(&mut IsolateShard) -> T) -> T {
    SHARDS.with(|cell| {
        let mut map = cell.borrow_mut();
        let shard = map.entry(name.to_string()).or_insert_with(|| IsolateShard {
            id: ISOLATE_ID.with(Clone::clone),
            ledger: UsageLedger::default(),
            others: External::default(),
            others_read_ms: i64::MIN,
            others_window: (-1, -1),
            last_flush_ms: i64::MIN / 2,
            flush_scheduled: false,
        });
        f(shard)
    })
}

impl KvShards {
    fn prefix(&self, kind: char, window: i64) -> String {
        format!("budget/{}/{kind}/{window}/", self.tenant)
    }

    /// Sums the `used` (tokens) and `usedMicros` metadata of every shard but ours under `prefix`.
    async fn sum_others(&self, prefix: String, own: &str) -> Result<Amount, budget::Error> {
        let mut total = Amount::ZERO;
        let mut cursor = None;
        loop {
            let mut list = self.kv.list().prefix(prefix.clone());
            if let Some(c) = cursor.take() {
                list = list.cursor(c);
            }
            let page = list
                .execute()
                .await
                .map_err(|e| budget::Error::Store(e.to_string()))?;
            for key in page.keys.iter().filter(|k| !k.name.ends_with(own)) {
                let field = |name: &str| {
                    key.metadata
                        .as_ref()
                        .and_then(|m| m.get(name))
                        .and_then(serde_json::Value::as_u64)
                        .unwrap_or(0)
                };
                total = total.plus(Amount {
                    tokens: field("used"),
                    micros: field("usedMicros"),
                });
            }
            match page.cursor.filter(|_| !page.list_complete) {
                Some(c) => cursor = Some(c),
                None => return Ok(total),
            }
        }
    }

    async fn refresh_others(&self, now_ms: i64) -> Result<External, budget::Error> {
        let w = Windows::at(now_ms);
        let (fresh, own, cached) = with_shard(&self.tenant, |s| {
            let fresh =
                s.others_window == (w.day, w.month) && now_ms - s.others_read_ms < OTHERS_TTL_MS;
            (fresh, s.id.clone(), s.others)
        });
        if fresh {
            return Ok(cached);
        }
        let daily = self.sum_others(self.prefix('d', w.day), &own).await?;
        let monthly = self.sum_others(self.prefix('m', w.month), &own).await?;
        let others = External { daily, monthly };
        with_shard(&self.tenant, |s| {
            s.others = others;
            s.others_read_ms = now_ms;
            s.others_window = (w.day, w.month);
        });
        Ok(others)
    }

    async fn reserve(
        &self,
        now_ms: i64,
        id: &str,
        demand: Demand,
        limits: Limits,
    ) -> Result<Admission, budget::Error> {
        let others = self.refresh_others(now_ms).await?;
        Ok(with_shard(&self.tenant, |s| {
            s.ledger
                .reserve(now_ms, id, demand, RESERVATION_TTL_MS, limits, others)
        }))
    }

    async fn settle(
        &self,
        now_ms: i64,
        id: &str,
        actual: Amount,
        limits: Limits,
    ) -> Result<Remaining, budget::Error> {
        Ok(with_shard(&self.tenant, |s| {
            s.ledger.settle(now_ms, id, actual, limits, s.others)
        }))
    }

    /// Writes this isolate's totals once KV's one-write-per-second allows; settlements that
    /// arrive meanwhile ride along with the pending write. Run it in `waitUntil`.
    async fn flush_when_due(&self) {
        let wait = with_shard(&self.tenant, |s| {
            if s.flush_scheduled {
                return None; // a pending flush will write the latest totals
            }
            s.flush_scheduled = true;
            let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
            Some((s.last_flush_ms + MIN_FLUSH_GAP_MS - now).max(0))
        });
        let Some(wait) = wait else { return };
        if wait > 0 {
            worker::Delay::from(Duration::from_millis(u64::try_from(wait).unwrap_or(0))).await;
        }
        if let Err(e) = self.flush().await {
            with_shard(&self.tenant, |s| s.flush_scheduled = false);
            worker::console_error!(
                "{}",
                json!({ "tenantId": self.tenant, "budgetError": e.to_string() })
            );
        }
    }

    /// Writes this isolate's totals to its shard keys.
    async fn flush(&self) -> Result<(), budget::Error> {
        let now = i64::try_from(now_ms()).unwrap_or(i64::MAX);
        let (id, ledger) = with_shard(&self.tenant, |s| {
            s.flush_scheduled = false;
            s.last_flush_ms = now;
            s.ledger.roll(now);
            (s.id.clone(), s.ledger.clone())
        });
        let err = |e: worker::KvError| budget::Error::Store(e.to_string());
        for (kind, window, used, ttl) in [
            ('d', ledger.day, ledger.used_today(), 2 * 86_400),
            ('m', ledger.month, ledger.used_this_month(), 32 * 86_400),
        ] {
            let key = format!("{}{id}", self.prefix(kind, window));
            self.kv
                .put(&key, used.tokens.to_string())
                .map_err(err)?
                .metadata(json!({ "used": used.tokens, "usedMicros": used.micros }))
                .map_err(err)?
                .expiration_ttl(ttl)
                .execute()
                .await
                .map_err(err)?;
        }
        Ok(())
    }
}
