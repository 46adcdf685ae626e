//! The machine's limit for the side-by-side benchmarks: plain reqwest on a multi-thread tokio
//! runtime (2 workers, like the core's), with no token cache, host check or retry loop, calling
//! one URL with one header. `bench/python/bench.py` and `bench/node/bench.mjs` run it against
//! the same loopback server in the same run and report every client as a ratio of it.
//!
//! ```sh
//! cargo run --release -p zoho-oauth --example raw_reqwest -- URL HEADER_VALUE SECONDS CONCURRENCY
//! ```
//!
//! Prints one JSON line: `{"rps": …, "cpu_us_per_req": …}` (CPU time of this whole process per
//! request, user + system, from `getrusage`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

async fn get(http: &reqwest::Client, url: &str, auth: &str) {
    let r = http.get(url).header("Authorization", auth).send().await.expect("GET");
    assert!(r.status().is_success(), "status {}", r.status());
    let _ = r.bytes().await.expect("body");
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, auth, seconds, concurrency] = &args[..] else {
        eprintln!("usage: raw_reqwest URL HEADER_VALUE SECONDS CONCURRENCY");
        std::process::exit(2);
    };
    let seconds: f64 = seconds.parse().expect("seconds");
    let concurrency: usize = concurrency.parse().expect("concurrency");
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let (rps, cpu) = rt.block_on(async move {
        let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build().expect("client");
        for _ in 0..20.max(concurrency) {
            get(&http, url, auth).await;
        }
        let count = Arc::new(AtomicU64::new(0));
        let end = Instant::now() + Duration::from_secs_f64(seconds);
        let (start, cpu0) = (Instant::now(), cpu_seconds());
        let tasks: Vec<_> = (0..concurrency)
            .map(|_| {
                let (http, url, auth, count) = (http.clone(), url.clone(), auth.clone(), count.clone());
                tokio::spawn(async move {
                    while Instant::now() < end {
                        get(&http, &url, &auth).await;
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        let n = count.load(Ordering::Relaxed) as f64;
        (n / start.elapsed().as_secs_f64(), (cpu_seconds() - cpu0) / n * 1e6)
    });
    println!("{{\"rps\": {rps:.1}, \"cpu_us_per_req\": {cpu:.1}}}");
}
