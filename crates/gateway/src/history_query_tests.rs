//! Tests of the history query: parsing with defaults and limits, the SQL, JSON and CSV answers.
use super::*;

const TODAY: i64 = 20_791; // 2026-12-04

fn parse(q: &str) -> Result<HistoryQuery, String> {
    HistoryQuery::parse(q, TODAY, Retention::default()).map_err(|e| e.to_string())
}

fn names(q: &HistoryQuery) -> Vec<&str> {
    q.group_by.iter().map(|d| d.name).collect()
}

#[test]
fn defaults_are_the_last_30_days_by_day() {
    let q = parse("").unwrap();
    assert_eq!(
        (day_string(q.from).as_str(), day_string(q.to).as_str()),
        ("2026-11-05", "2026-12-04")
    );
    assert_eq!(names(&q), vec!["day"]);
    let q = parse("to=2026-11-30").unwrap();
    assert_eq!(day_string(q.from), "2026-11-01");
    let q =
        parse("from=2026-12-01&groupBy=key%2Cmodel&key=k%201&user=a+b&model=%40cf%2Fm").unwrap();
    assert_eq!((day_string(q.from).as_str(), q.to), ("2026-12-01", TODAY));
    assert_eq!(names(&q), vec!["key", "model"]);
    assert_eq!(
        (q.key.as_deref(), q.user.as_deref(), q.model.as_deref()),
        (Some("k 1"), Some("a b"), Some("@cf/m"))
    );
    // An empty groupBy: one row for the whole window.
    assert!(parse("groupBy=").unwrap().group_by.is_empty());
}

#[test]
fn bad_queries_name_the_parameter() {
    for (q, want) in [
        ("from=2026-13-01", "from: `2026-13-01` is not a date (YYYY-MM-DD)"),
        ("to=yesterday", "to: `yesterday` is not a date (YYYY-MM-DD)"),
        ("from=2026-12-04&to=2026-12-03", "from: 2026-12-04 is after to (2026-12-03)"),
        ("groupBy=day,colour", "groupBy: `colour` is not one of day, hour, key, user, model, provider, status"),
        ("groupBy=key,key", "groupBy: `key` is named twice"),
        ("groupBy=day,hour", "groupBy: use day or hour, not both (an hour names its day)"),
        ("limit=5", "limit: unknown parameter; expected from, to, groupBy, key, user, model"),
        ("from=2025-10-30", "from: daily rows are kept for 400 days: the oldest is 2025-10-31"),
        ("from=2026-11-20&groupBy=hour", "from: hourly rows are kept for 14 days: with groupBy=hour the oldest day is 2026-11-21"),
    ] {
        assert_eq!(parse(q).unwrap_err(), want, "{q}");
    }
    assert!(parse("from=2025-10-31").is_ok());
    assert!(parse("from=2026-11-21&groupBy=hour").is_ok());
}

#[test]
fn the_sql_groups_filters_and_binds_every_value() {
    let q = parse("from=2026-12-01&to=2026-12-02&groupBy=day,model&key=k1").unwrap();
    assert_eq!(
        q.sql(),
        (
            "SELECT day, model, SUM(requests), SUM(errors), SUM(prompt), SUM(completion), SUM(total), \
             SUM(cost_micros), SUM(unpriced), SUM(latency_ms) FROM daily WHERE day >= ? AND day < ? \
             AND key_id = ? GROUP BY day, model ORDER BY day, model"
                .to_string(),
            vec!["2026-12-01".to_string(), "2026-12-03".to_string(), "k1".to_string()]
        )
    );
    let q = parse("from=2026-12-04&groupBy=hour,user&user=u&model=m").unwrap();
    let (sql, params) = q.sql();
    assert!(sql.contains("FROM hourly WHERE hour >= ? AND hour < ? AND user_id = ? AND model = ? GROUP BY hour, user_id ORDER BY hour, user_id"), "{sql}");
    assert_eq!(params, vec!["2026-12-04", "2026-12-05", "u", "m"]);
    // A filter value is always bound, never spliced.
    let q = parse("key=x'%20OR%201%3D1--").unwrap();
    let (sql, params) = q.sql();
    assert!(!sql.contains("OR 1=1"));
    assert_eq!(params[2], "x' OR 1=1--");
    let (sql, _) = parse("groupBy=").unwrap().sql();
    assert!(
        sql.ends_with("FROM daily WHERE day >= ? AND day < ?"),
        "{sql}"
    );
}

#[test]
fn rows_and_totals_as_json_and_csv() {
    let q = parse("from=2026-12-04&groupBy=key,model").unwrap();
    let rows = vec![
        vec![
            json!("k1"),
            json!("@cf/a"),
            json!(3),
            json!(1),
            json!(30),
            json!(6),
            json!(36),
            json!(1234),
            json!(0),
            json!(90),
        ],
        vec![
            json!(""),
            json!("x,\"y\""),
            json!(2),
            json!(2),
            json!(0),
            json!(0),
            json!(0),
            json!(0),
            json!(0),
            json!(5),
        ],
        vec![
            json!("=k"),
            json!("@cf/u"),
            json!(1),
            json!(0),
            json!(5),
            json!(5),
            json!(10),
            json!(0),
            json!(1),
            json!(7),
        ],
    ];
    let a = q.answer(&rows);
    assert_eq!(
        a,
        json!({
            "from": "2026-12-04", "to": "2026-12-04", "groupBy": ["key", "model"],
            "filters": {"key": null, "user": null, "model": null},
            "rows": [
                {"keyId": "k1", "model": "@cf/a", "requests": 3, "errors": 1, "promptTokens": 30,
                 "completionTokens": 6, "totalTokens": 36, "costUsd": "0.001234", "unpricedRequests": 0, "latencyMsMean": 30},
                {"keyId": null, "model": "x,\"y\"", "requests": 2, "errors": 2, "promptTokens": 0,
                 "completionTokens": 0, "totalTokens": 0, "costUsd": "0.000000", "unpricedRequests": 0, "latencyMsMean": 2},
                {"keyId": "=k", "model": "@cf/u", "requests": 1, "errors": 0, "promptTokens": 5,
                 "completionTokens": 5, "totalTokens": 10, "costUsd": null, "unpricedRequests": 1, "latencyMsMean": 7},
            ],
            "totals": {"requests": 6, "errors": 3, "promptTokens": 35, "completionTokens": 11,
                       "totalTokens": 46, "costUsd": "0.001234", "unpricedRequests": 1},
        })
    );
    assert_eq!(
        q.csv(&a),
        "keyId,model,requests,errors,promptTokens,completionTokens,totalTokens,costUsd,unpricedRequests,latencyMsMean\n\
         k1,@cf/a,3,1,30,6,36,0.001234,0,30\n\
         ,\"x,\"\"y\"\"\",2,2,0,0,0,0.000000,0,2\n\
         \"'=k\",@cf/u,1,0,5,5,10,,1,7\n"
    );
    // No rows: zero totals.
    let empty = q.answer(&[]);
    assert_eq!(empty["totals"]["requests"], 0);
    assert_eq!(empty["totals"]["costUsd"], "0.000000");
    assert_eq!(q.csv(&empty).lines().count(), 1);
}

#[test]
fn this_month_runs_from_the_first_to_today_by_the_asked_dimensions() {
    let today = parse_day("2026-12-05").unwrap();
    let q = HistoryQuery::this_month(today, &["user", "nope"]);
    assert_eq!(day_string(q.from), "2026-12-01");
    assert_eq!(day_string(q.to), "2026-12-05");
    assert_eq!(names(&q), ["user"]);
    let (sql, params) = q.sql();
    assert!(sql.contains("FROM daily"), "{sql}");
    assert_eq!(params, ["2026-12-01", "2026-12-06"]);
}

#[test]
fn top_rows_cost_most_then_use_most_tokens() {
    let answer = json!({"rows": [
        {"user": "a", "costUsd": "0.000900", "totalTokens": 10},
        {"user": "b", "costUsd": "0.010000", "totalTokens": 5},
        {"user": "c", "costUsd": null, "totalTokens": 999},
        {"user": "d", "costUsd": "0.000900", "totalTokens": 50},
    ]});
    let users: Vec<Value> = top(&answer, 3).iter().map(|r| r["user"].clone()).collect();
    assert_eq!(users, [json!("b"), json!("d"), json!("a")]);
    assert_eq!(top(&answer, 10).len(), 4);
    assert!(top(&json!({}), 5).is_empty());
}
