//! Listeners and the request pipeline: one accept loop per data centre, each connection served
//! by hyper with the shared axum router, and the middleware that injects faults and counts calls.
//!
//! The accept loop is ours (not `axum::serve`) because a "connection reset" fault needs the
//! connection's socket: the middleware sets `SO_LINGER` to zero on it so that closing it sends a
//! TCP RST, which is what a client sees when a proxy or load balancer drops a connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use crate::model::Fault;
use crate::state::Shared;

/// Per-connection facts a handler may need: which DC's listener accepted it, and its socket.
#[derive(Clone)]
pub(crate) struct ConnInfo {
    pub dc: usize,
    socket: Arc<std::net::TcpStream>,
}

/// Serves `router` on `listener` until `stop` flips to true; then drops every open connection.
pub(crate) async fn serve(listener: TcpListener, dc: usize, router: Router, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Out of file descriptors or a transient error: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                let Ok(std_stream) = stream.into_std() else { continue };
                // A second handle to the same socket, for the reset fault.
                let Ok(dup) = std_stream.try_clone() else { continue };
                let Ok(stream) = tokio::net::TcpStream::from_std(std_stream) else { continue };
                let _ = stream.set_nodelay(true);
                let info = ConnInfo { dc, socket: Arc::new(dup) };
                let router = router.clone();
                conns.spawn(async move {
                    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(info.clone());
                        router.clone().oneshot(req.map(Body::new))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
            // Reap finished connections so the set does not grow without bound.
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

/// Middleware for every route but `/__mock/`: applies an injected fault, and counts product API
/// calls by route and status (token requests are counted by their handlers, which know the
/// grant type and outcome).
pub(crate) async fn observe(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    if path.starts_with("/__mock") {
        return next.run(req).await;
    }
    let method = req.method().to_string();
    if is_token_path(&path) {
        // Counted on arrival: a request whose client gives up before the answer (a timeout, a
        // killed process) is still seen.
        shared.lock().counters.token_requests_received += 1;
    }
    let fault = take_fault(&shared, &path, &method);
    let conn = req.extensions().get::<ConnInfo>().cloned();
    let (response, status_key) = match fault {
        None => {
            let r = next.run(req).await;
            let key = r.status().as_u16().to_string();
            (r, key)
        }
        Some(f) => {
            if let Some(ms) = f.delay_ms {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if f.reset {
                (reset_connection(conn.as_ref()), "reset".to_string())
            } else if f.status.is_some() || f.body.is_some() {
                let r = fault_response(&f);
                let key = r.status().as_u16().to_string();
                (r, key)
            } else {
                let r = next.run(req).await;
                let key = r.status().as_u16().to_string();
                (r, key)
            }
        }
    };
    let mut st = shared.lock();
    if path.starts_with("/oauth/") {
        if is_token_path(&path) && response.extensions().get::<HandledByTokenEndpoint>().is_none() {
            *st.counters.token_requests.entry("faulted".into()).or_default().entry(status_key).or_default() += 1;
            st.counters.token_requests_total += 1;
        }
    } else {
        *st.counters.api_calls.entry(format!("{method} {path}")).or_default().entry(status_key).or_default() += 1;
        st.counters.api_calls_total += 1;
    }
    response
}

/// Token handlers mark the responses they produced, so the middleware counts only faulted ones.
#[derive(Clone, Copy)]
pub(crate) struct HandledByTokenEndpoint;

fn is_token_path(path: &str) -> bool {
    matches!(path, "/oauth/v2/token" | "/oauth/v3/device/token" | "/oauth/v3/device/code")
}

fn take_fault(shared: &Shared, path: &str, method: &str) -> Option<Fault> {
    let now = shared.now_ms();
    let mut st = shared.lock();
    st.faults.retain(|f| f.until_ms.is_none_or(|until| now < until));
    let idx = st.faults.iter().position(|f| {
        path.starts_with(&f.path) && f.method.as_deref().is_none_or(|m| m.eq_ignore_ascii_case(method))
    })?;
    let fault = st.faults[idx].clone();
    st.faults[idx].count -= 1;
    if st.faults[idx].count == 0 {
        st.faults.remove(idx);
    }
    Some(fault)
}

fn fault_response(f: &Fault) -> Response {
    let status = StatusCode::from_u16(f.status.unwrap_or(200)).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let (content_type, body): (&str, String) = match f.body.as_deref() {
        None => (
            "application/json;charset=UTF-8",
            r#"{"code":"INTERNAL_ERROR","details":{},"message":"Internal Server Error","status":"error"}"#.into(),
        ),
        Some("malformed") => ("application/json;charset=UTF-8", "{\"access_token\": 1000.<<not json>>,".into()),
        Some("truncated") => (
            "application/json;charset=UTF-8",
            r#"{"access_token":"1000.4f0c1b2a9d8e7f6a5b4c3d2e1f0a9b8c.7e6d5c4b3a29181"#.into(),
        ),
        Some("html") => (
            "text/html;charset=UTF-8",
            format!(
                "<!DOCTYPE html><html><head><title>{code} {reason}</title></head><body><h1>{code} {reason}</h1>\
                 <p>The server encountered a temporary error. Please try again later.</p></body></html>",
                code = status.as_u16(),
                reason = status.canonical_reason().unwrap_or("Error")
            ),
        ),
        Some(literal) => ("application/json;charset=UTF-8", literal.to_string()),
    };
    let mut r = (status, body).into_response();
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Some(ra) = &f.retry_after
        && let Ok(v) = HeaderValue::from_str(ra)
    {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// Makes the connection close with a TCP reset: linger zero, then a body that fails at once,
/// which makes hyper drop the connection without a complete response.
fn reset_connection(conn: Option<&ConnInfo>) -> Response {
    if let Some(c) = conn {
        let _ = socket2::SockRef::from(&*c.socket).set_linger(Some(Duration::ZERO));
    }
    let failing = futures_util::stream::once(async {
        Err::<Bytes, std::io::Error>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "injected reset"))
    });
    Response::new(Body::from_stream(failing))
}

/// Reads parameters the way Zoho does: the query string, then a form body on top.
pub(crate) fn params(query: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    if let Some(q) = query {
        out.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    if !body.is_empty() {
        out.extend(form_urlencoded::parse(body).into_owned());
    }
    out
}
