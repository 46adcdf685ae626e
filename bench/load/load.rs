//! Load: 10,000 authenticated GETs from 64 concurrent tasks through one `zoho_oauth::Client`
//! against zoho-mock (in this process, loopback HTTP), while the access token expires twice:
//! tokens live 100 s (mock setting), the client refreshes 10 s before expiry, and the mock's
//! virtual clock jumps 101 s at 1/3 and 2/3 of the run, so requests in flight at a jump reach
//! Zoho with a dead token (401, refreshed once, retried once) while the others find the cached
//! token expired. Pass: 0 errors and exactly 2 refreshes during the run. Reports throughput and
//! the process's peak RSS. (A jump longer than the 120 s request deadline would fail the requests
//! in flight with `timeout`, correctly for that clock; hence short tokens instead of an hour's jump.)
//!
//!
//! Then the same on a bad day: at 1/3 and 2/3 the clock jumps into the refresh margin (30 s for
//! this run), to 20 s before the token expires, and the token endpoint answers 500 for the next 3 s of
//! the mock's clock, which moves 1 ms per request. Pass: 0 errors (every request holds a token
//! that still works), exactly 2 successful refreshes, and at most 6 failed token requests per
//! outage (two flights of 3 attempts: one at once, one after the 1 s backoff; the third, after
//! 2 s more, finds the endpoint back).
//!
//! Run (release, as `cargo bench` builds): `cargo bench -p zoho-oauth --bench load`.
//! The Python and Node versions are `bench/load/load.py` and `bench/load/load.mjs`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use zoho_mock::{Fault, MintCode, MockConfig, MockZoho, VirtualClock};
use zoho_oauth::{Client, OAuthApp};

const TOTAL: usize = 10_000;
const TASKS: usize = 64;
const TOKEN_TTL_SECS: u64 = 100;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` would pass other flags: run only for bench.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    rt.block_on(run(false));
    rt.block_on(run(true));
}

/// One run of [`TOTAL`] requests; `bad_day` as the module docs say.
async fn run(bad_day: bool) {
    let mut config = MockConfig::default();
    config.settings.access_token_ttl_secs = TOKEN_TTL_SECS;
    let mock = Arc::new(MockZoho::start(config).await.expect("mock"));
    let refresh_token = mock
        .mint_refresh_token(MintCode::new(zoho_mock::DEFAULT_CLIENT_ID, &["ZohoCRM.modules.ALL"]))
        .expect("refresh token")
        .refresh_token;
    let app = OAuthApp::builder(zoho_mock::DEFAULT_CLIENT_ID)
        .client_secret(zoho_mock::DEFAULT_CLIENT_SECRET)
        .accounts_url(mock.base_url())
        .clock(VirtualClock::new(&mock))
        .build()
        .expect("app");
    let client = Client::builder(app, refresh_token)
        .api_domain(mock.base_url())
        // On the bad day, 30 s: the outage starts 20 s before expiry, inside the margin.
        .refresh_margin(Duration::from_secs(if bad_day { 30 } else { 10 }))
        .build()
        .expect("client");
    client.access_token().await.expect("first token");
    let before = mock.counters();

    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..TASKS)
        .map(|_| {
            let (client, mock, next, errors) = (client.clone(), mock.clone(), next.clone(), errors.clone());
            tokio::spawn(async move {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= TOTAL {
                        break;
                    }
                    if i == TOTAL / 3 || i == 2 * TOTAL / 3 {
                        if bad_day {
                            // Into the margin, 20 s before the token expires, and the token
                            // endpoint down for 3 s.
                            let expires_at = client.token_set().await.expect("the cached token").expires_at_ms;
                            let to_margin = (expires_at - 20_000 - mock.now_ms()).max(0) as u64;
                            let now = mock.advance_clock(Duration::from_millis(to_margin));
                            let mut outage = Fault::new("/oauth/v2/token", 1_000);
                            outage.status = Some(500);
                            outage.until_ms = Some(now + 3_000);
                            mock.inject_fault(outage).expect("fault");
                        } else {
                            mock.advance_clock(Duration::from_secs(TOKEN_TTL_SECS + 1)); // the token expires
                        }
                    } else if bad_day {
                        mock.advance_clock(Duration::from_millis(1));
                    }
                    match client.get("/crm/v8/Leads").query(&[("per_page", "1")]).send().await {
                        Ok(r) if r.status() == 200 => {}
                        other => {
                            if errors.fetch_add(1, Ordering::Relaxed) < 3 {
                                match other {
                                    Ok(r) => eprintln!("request {i}: HTTP {} {}", r.status(), r.text()),
                                    Err(e) => eprintln!("request {i}: {e}"),
                                }
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.expect("task");
    }
    let elapsed = started.elapsed();
    let counters = mock.counters();
    let refreshes =
        counters.token_requests("refresh_token", "success") - before.token_requests("refresh_token", "success");
    let failed = counters.token_requests_for("faulted") - before.token_requests_for("faulted");
    let errors = errors.load(Ordering::Relaxed);
    let calls = counters.api_calls_total() - before.api_calls_total();
    println!(
        "rust load{}: {TOTAL} requests, {TASKS} tasks, {:.2} s, {:.0} req/s, errors {errors}, refreshes {refreshes}, \
         failed token requests {failed}, API calls {calls} (401 retries {}), peak RSS {:.1} MiB",
        if bad_day { " (bad day)" } else { "" },
        elapsed.as_secs_f64(),
        TOTAL as f64 / elapsed.as_secs_f64(),
        calls.saturating_sub(TOTAL as u64),
        peak_rss_kib() as f64 / 1024.0
    );
    assert_eq!(errors, 0, "every request succeeds");
    assert_eq!(refreshes, 2, "exactly one successful refresh per expiry");
    assert!(failed <= 12, "at most two flights of three attempts per outage: {failed}");
}
