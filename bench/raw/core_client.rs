//! The core's client alone, next to `raw_reqwest` on the same server: what the library costs
//! per request before any binding adds its own. One request at a time is
//! `Client::get(…).send_blocking()` in a loop on one thread (past the warm-up it runs on that
//! thread's own runtime, as the Python `Client` does); with more in flight, that many tasks on
//! the shared runtime loop on `.send().await` (as `AsyncClient` and Node's `Client` do under
//! load). The token comes from the fake Zoho.
//!
//! ```sh
//! cargo run --release -p zoho-oauth --example core_client -- API_BASE ACCOUNTS_URL REFRESH_TOKEN SECONDS CONCURRENCY [TOKEN_STORE_URL]
//! ```
//!
//! Prints one JSON line: `{"rps": …, "cpu_us_per_req": …}` (CPU time of this whole process per
//! request, user + system, from `getrusage`). Run it by hand next to `raw_reqwest` on the same
//! server (bench/README.md, "Change 5" has the commands).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use zoho_oauth::{Client, OAuthApp};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

const PATH: &str = "/crm/v8/Leads";
const QUERY: &[(&str, &str)] = &[("per_page", "1")];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, api, accounts, refresh_token, seconds, concurrency, ..] = &args[..] else {
        eprintln!("usage: core_client API_BASE ACCOUNTS_URL REFRESH_TOKEN SECONDS CONCURRENCY [TOKEN_STORE_URL]");
        std::process::exit(2);
    };
    let seconds: f64 = seconds.parse().expect("seconds");
    let concurrency: usize = concurrency.parse().expect("concurrency");
    // The fake Zoho's default self client.
    let app = OAuthApp::builder("1000.MOCKSELFCLIENT")
        .client_secret("mock-self-secret")
        .accounts_url(accounts.clone())
        .build()
        .expect("app");
    let mut builder = Client::builder(app, refresh_token.clone()).api_domain(api.clone());
    if let Some(store) = args.get(6) {
        builder = builder.token_store_url(store.clone());
    }
    let client = builder.build().expect("client");
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let (n, elapsed, cpu) = if concurrency <= 1 {
        let get = || {
            let r = client.get(PATH).query(QUERY).send_blocking().expect("GET");
            assert_eq!(r.status(), 200);
        };
        for _ in 0..100 {
            get();
        }
        let (start, cpu0, mut n) = (Instant::now(), cpu_seconds(), 0u64);
        while Instant::now() < end {
            get();
            n += 1;
        }
        (n, start.elapsed(), cpu_seconds() - cpu0)
    } else {
        zoho_oauth::block_on(async move {
            for _ in 0..concurrency {
                assert_eq!(client.get(PATH).query(QUERY).send().await.expect("GET").status(), 200);
            }
            let count = Arc::new(AtomicU64::new(0));
            let (start, cpu0) = (Instant::now(), cpu_seconds());
            let tasks: Vec<_> = (0..concurrency)
                .map(|_| {
                    let (client, count) = (client.clone(), count.clone());
                    zoho_oauth::runtime().spawn(async move {
                        while Instant::now() < end {
                            let r = client.get(PATH).query(QUERY).send().await.expect("GET");
                            assert_eq!(r.status(), 200);
                            count.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            for t in tasks {
                t.await.expect("task");
            }
            (count.load(Ordering::Relaxed), start.elapsed(), cpu_seconds() - cpu0)
        })
    };
    let n = n as f64;
    println!("{{\"rps\": {:.1}, \"cpu_us_per_req\": {:.1}}}", n / elapsed.as_secs_f64(), cpu / n * 1e6);
}
