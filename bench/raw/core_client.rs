//! The core's client alone, next to `raw_reqwest` on the same server: what the library costs
//! per request before any binding adds its own. One request at a time is
//! `Client::get(…).send_blocking()` in a loop on one thread (past the warm-up it runs on that
//! thread's own runtime, as the Python `Client` does); with more in flight, that many tasks on
//! the shared runtime loop on `.send().await` (as `AsyncClient` and Node's `Client` do under
//! load). The token comes from the fake Zoho. `CONCURRENCY` `here` is one request at a time
//! driven as Node's addon drives a lone request, without JavaScript: an epoll instance of its
//! own watches `here_fd()` (as libuv does), and `drive_here` takes a turn to start each request
//! and at every wake-up (bench/README.md, "Change 11").
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
    let here = concurrency == "here";
    let concurrency: usize = if here { 1 } else { concurrency.parse().expect("concurrency") };
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
        let blocking = || {
            let r = client.get(PATH).query(QUERY).send_blocking().expect("GET");
            assert_eq!(r.status(), 200);
        };
        // Warm-up on the blocking path (it also makes this thread's runtime).
        for _ in 0..100 {
            blocking();
        }
        let nested = here.then(|| Nested::new(&client));
        let get = || match &nested {
            Some(n) => n.get(),
            None => blocking(),
        };
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

/// One request at a time the way Node's addon runs a lone request on the JavaScript thread.
struct Nested {
    client: Client,
    /// An epoll instance watching the thread runtime's descriptor: libuv's part.
    outer: std::os::fd::OwnedFd,
}

impl Nested {
    fn new(client: &Client) -> Nested {
        use std::os::fd::FromRawFd;
        let fd = zoho_oauth::here_fd().expect("this platform has no runtime descriptor to watch");
        // SAFETY: epoll_create1 returns a new descriptor that nothing else owns, or -1.
        let outer = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
        assert!(outer >= 0, "epoll_create1: {}", std::io::Error::last_os_error());
        // SAFETY: `outer` is ours (checked above).
        let outer = unsafe { std::os::fd::OwnedFd::from_raw_fd(outer) };
        let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: 0 };
        // SAFETY: both descriptors are open; `event` is a valid epoll_event.
        let added =
            unsafe { libc::epoll_ctl(std::os::fd::AsRawFd::as_raw_fd(&outer), libc::EPOLL_CTL_ADD, fd, &mut event) };
        assert_eq!(added, 0, "epoll_ctl: {}", std::io::Error::last_os_error());
        Nested { client: client.clone(), outer }
    }

    fn get(&self) {
        let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (client, finished) = (self.client.clone(), done.clone());
        let task = zoho_oauth::drive_here(move || {
            tokio::spawn(async move {
                let r = client.get(PATH).query(QUERY).send().await.expect("GET");
                assert_eq!(r.status(), 200);
                finished.store(true, Ordering::Release);
            })
        });
        while !task.is_finished() {
            let mut events = [libc::epoll_event { events: 0, u64: 0 }; 4];
            // A 1 ms timeout stands in for the addon's tick (`LoopRequests::next_tick`).
            // SAFETY: `events` has room for the 4 events asked for.
            unsafe { libc::epoll_wait(std::os::fd::AsRawFd::as_raw_fd(&self.outer), events.as_mut_ptr(), 4, 1) };
            zoho_oauth::drive_here(|| ());
        }
        // A task that panicked (its message printed above) finished without getting there.
        assert!(done.load(Ordering::Acquire), "the GET failed");
    }
}
