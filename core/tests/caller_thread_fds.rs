//! A thread past its warm-up whose own runtime cannot be made (the process is out of file
//! descriptors) sends through the shared runtime instead of panicking. A test binary of its
//! own: the descriptor limit is the whole process's.

mod common;

use common::Env;
use zoho_oauth::WARM_UP_REQUESTS;

fn set_nofile(soft: u64) -> u64 {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: plain system calls on a local struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        let old = lim.rlim_cur;
        lim.rlim_cur = soft;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        old
    }
}

#[test]
fn out_of_file_descriptors_a_thread_sends_through_the_shared_runtime() {
    let env = zoho_oauth::block_on(Env::start());
    let client = env.client();
    for _ in 0..WARM_UP_REQUESTS {
        assert_eq!(client.get("/crm/v8/Leads").send_blocking().expect("warm-up").status(), 200);
    }
    // No descriptor left: the limit at the number open, and every hole below it filled.
    let open = std::fs::read_dir("/proc/self/fd").expect("fds").count() as u64;
    let old = set_nofile(open);
    let mut fillers = Vec::new();
    while let Ok(f) = std::fs::File::open("/dev/null") {
        fillers.push(f);
    }
    // The next request would be driven here, on a runtime this thread cannot make now; it goes
    // through the shared runtime and its warm connection instead.
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        client.get("/crm/v8/Leads").send_blocking().map(|r| r.status())
    }));
    drop(fillers);
    set_nofile(old);
    assert_eq!(outcome.expect("no panic").expect("sent through the shared runtime"), 200);
    // With descriptors back, the thread drives its requests itself.
    assert_eq!(client.get("/crm/v8/Leads").send_blocking().expect("driven here").status(), 200);
}
