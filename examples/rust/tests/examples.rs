//! Runs every example binary as its header documents it: with no `ZOHO_*` variable set, each
//! starts the fake Zoho in its own process, runs against it and asserts what it shows. The fleet
//! example shares `REDIS_URL` when it is set (scripts/test.sh sets it), a file store otherwise.

use std::process::Command;

fn run(exe: &str) {
    let mut cmd = Command::new(exe);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("ZOHO_") {
            cmd.env_remove(name);
        }
    }
    let out = cmd.output().expect("the example starts");
    assert!(
        out.status.success(),
        "{exe} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn self_client_leads() {
    run(env!("CARGO_BIN_EXE_self_client_leads"));
}

#[test]
fn login_callback() {
    run(env!("CARGO_BIN_EXE_login_callback"));
}

#[test]
fn device_flow() {
    run(env!("CARGO_BIN_EXE_device_flow"));
}

#[test]
fn desk_ticket() {
    run(env!("CARGO_BIN_EXE_desk_ticket"));
}

#[test]
fn books_invoices() {
    run(env!("CARGO_BIN_EXE_books_invoices"));
}

#[test]
fn fleet_worker() {
    run(env!("CARGO_BIN_EXE_fleet_worker"));
}

#[test]
fn crm_records() {
    run(env!("CARGO_BIN_EXE_crm_records"));
}
