//! The floor for one request at a time: a blocking socket that writes the GET, waits in `read`
//! and reads the answer, on one keep-alive connection, with nothing else (no runtime, no pool,
//! no timeout, no event loop). No client that waits for one answer before sending the next
//! request can beat it on the same server; it tells how much of a client's sequential time is
//! the round trip itself (the kernel's loopback delivery, the server, the wake-ups) and how much
//! is the client's own. `raw_reqwest` is the machine's limit with many in flight; this is the
//! limit one at a time.
//!
//! ```sh
//! cargo run --release -p zoho-oauth --example floor -- URL HEADER_VALUE SECONDS
//! ```
//!
//! `URL` is `http://` only. Prints one JSON line, as `raw_reqwest` does: `{"rps": …,
//! "cpu_us_per_req": …}` (CPU time of this process per request, user + system).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(u.ru_utime) + t(u.ru_stime)
}

/// Reads one HTTP/1.1 response with a `Content-Length` into `buf`; returns its status code.
fn read_response(conn: &mut TcpStream, buf: &mut Vec<u8>) -> u16 {
    buf.clear();
    let mut chunk = [0u8; 8192];
    loop {
        let n = conn.read(&mut chunk).expect("read");
        assert!(n > 0, "the server closed the connection");
        buf.extend_from_slice(&chunk[..n]);
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { continue };
        let head = std::str::from_utf8(&buf[..end]).expect("ASCII head");
        let length: usize = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
            .map(|(_, v)| v.trim().parse().expect("content-length"))
            .expect("a Content-Length (this floor reads no chunked bodies)");
        let status = head.get(9..12).and_then(|s| s.parse().ok()).expect("status line");
        while buf.len() < end + 4 + length {
            let n = conn.read(&mut chunk).expect("read");
            assert!(n > 0, "the server closed the connection");
            buf.extend_from_slice(&chunk[..n]);
        }
        return status;
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, auth, seconds] = &args[..] else {
        eprintln!("usage: floor URL HEADER_VALUE SECONDS");
        std::process::exit(2);
    };
    let url = url::Url::parse(url).expect("URL");
    assert_eq!(url.scheme(), "http", "the floor speaks plain HTTP only");
    let host = url.host_str().expect("host");
    let port = url.port_or_known_default().expect("port");
    let request = format!(
        "GET {}{} HTTP/1.1\r\nhost: {host}:{port}\r\nauthorization: {auth}\r\naccept: */*\r\n\r\n",
        url.path(),
        url.query().map(|q| format!("?{q}")).unwrap_or_default()
    );
    let mut conn = TcpStream::connect((host, port)).expect("connect");
    conn.set_nodelay(true).expect("nodelay");
    let mut buf = Vec::with_capacity(16 * 1024);
    let mut get = |conn: &mut TcpStream| {
        conn.write_all(request.as_bytes()).expect("write");
        let status = read_response(conn, &mut buf);
        assert!((200..300).contains(&status), "status {status}");
    };
    for _ in 0..100 {
        get(&mut conn);
    }
    let seconds: f64 = seconds.parse().expect("seconds");
    let end = Instant::now() + Duration::from_secs_f64(seconds);
    let (start, cpu0) = (Instant::now(), cpu_seconds());
    let mut n = 0u64;
    while Instant::now() < end {
        get(&mut conn);
        n += 1;
    }
    let (rps, cpu) = (n as f64 / start.elapsed().as_secs_f64(), (cpu_seconds() - cpu0) / n as f64 * 1e6);
    println!("{{\"rps\": {rps:.1}, \"cpu_us_per_req\": {cpu:.1}}}");
}
