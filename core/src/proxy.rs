//! Which requests go through a proxy.
//!
//! reqwest's automatic system-proxy support would send a request to an explicit loopback
//! accounts server (the mock, a local relay) through `http_proxy`, form body and client secret
//! in clear. So the automatic support is off and the proxy is configured here instead:
//!
//! * only `https://` targets use a proxy, through a CONNECT tunnel: the proxy sees the host name,
//!   never a header or a body (plain `http://` is only ever allowed to loopback hosts anyway);
//! * the proxy comes from `HTTPS_PROXY` / `https_proxy`, else `ALL_PROXY` / `all_proxy`;
//! * `NO_PROXY` / `no_proxy` is honoured, and loopback hosts (`localhost`, `127.0.0.0/8`, `::1`)
//!   are always reached directly.

/// Hosts never sent through a proxy.
const ALWAYS_DIRECT: &str = "localhost,127.0.0.0/8,::1";

fn env(names: &[&str]) -> Option<String> {
    names.iter().find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
}

/// Configure the proxy of `builder` from the environment, as described in the module docs.
/// A proxy URL that does not parse is ignored with a warning (the request then goes direct).
pub(crate) fn configure(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    let builder = builder.no_proxy();
    let Some(url) = env(&["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]) else {
        return builder;
    };
    let direct = match env(&["NO_PROXY", "no_proxy"]) {
        Some(list) => format!("{ALWAYS_DIRECT},{list}"),
        None => ALWAYS_DIRECT.to_string(),
    };
    match reqwest::Proxy::https(url.trim()) {
        Ok(p) => builder.proxy(p.no_proxy(reqwest::NoProxy::from_string(&direct))),
        Err(_) => {
            tracing::warn!(target: "zoho_oauth", "HTTPS_PROXY/ALL_PROXY is not a valid URL; connecting directly");
            builder
        }
    }
}
