//! `Client::access_token()` on a cache hit, from 1 to 8 threads.
//!
//! Run: `cargo bench -p zoho-oauth --bench access_token`. No network: the client is seeded
//! with a token, so every call is a cache hit (one clock read and one read lock).

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use futures_util::FutureExt;
use zoho_oauth::{Client, MemoryStore, OAuthApp, TokenSet};

fn seeded_client() -> Client {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
    let token = TokenSet::parse(
        200,
        r#"{"access_token":"1000.0123456789abcdef0123456789abcdef.0123456789abcdef0123456789abcdef","api_domain":"https://www.zohoapis.com","expires_in":3600}"#,
        now,
        "https://accounts.zoho.com",
    )
    .expect("token parses");
    let app = OAuthApp::builder("1000.BENCH").client_secret("s").build().expect("app");
    Client::builder(app, "1000.refresh")
        .token_store(Arc::new(MemoryStore::isolated()))
        .initial_token(token)
        .build()
        .expect("client")
}

fn hit(client: &Client) {
    // The hit path never awaits: poll once, no runtime needed.
    let t = client.access_token().now_or_never().expect("ready").expect("token");
    black_box(t);
}

fn bench(c: &mut Criterion) {
    let client = seeded_client();
    let mut g = c.benchmark_group("access_token_cache_hit");
    g.measurement_time(Duration::from_secs(3));
    for threads in [1usize, 2, 4, 8] {
        g.bench_with_input(BenchmarkId::from_parameter(threads), &threads, |b, &threads| {
            b.iter_custom(|iters| {
                // Each thread does `iters` calls; report the slowest thread's time per call,
                // i.e. the latency one caller sees while `threads` callers run at once.
                let start = Instant::now();
                std::thread::scope(|s| {
                    for _ in 0..threads {
                        let c = client.clone();
                        s.spawn(move || {
                            for _ in 0..iters {
                                hit(&c);
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    g.finish();

    // Where the time goes (single thread): a reading of the wall clock, and cloning plus
    // dropping (zeroizing) the owned token that the caller receives.
    let mut g = c.benchmark_group("access_token_parts");
    let token = client.access_token().now_or_never().expect("ready").expect("token");
    g.bench_function("system_time_now", |b| b.iter(|| black_box(std::time::SystemTime::now())));
    g.bench_function("token_clone_and_zeroizing_drop", |b| b.iter(|| black_box(token.clone())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
