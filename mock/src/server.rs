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
use axum::extract::{FromRequest, Request, State};
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
    let mut response = response;
    json_charset(&mut response);
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

/// Zoho labels JSON `application/json;charset=utf-8`, and its SDKs pick their decoder by that
/// header; axum's bare `application/json` becomes the same.
fn json_charset(r: &mut Response) {
    if r.headers().get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes() == b"application/json") {
        r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=utf-8"));
    }
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
    if f.body.as_deref() == Some("endless") {
        return endless(status);
    }
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

/// A JSON-looking body without a declared length that never ends (a hostile or broken server):
/// chunks of 64 KiB for as long as the client reads.
fn endless(status: StatusCode) -> Response {
    static CHUNK: [u8; 64 * 1024] = [b'a'; 64 * 1024];
    let head = futures_util::stream::once(async { Ok::<Bytes, std::io::Error>(Bytes::from_static(b"{\"data\":\"")) });
    let tail = futures_util::stream::repeat_with(|| Ok(Bytes::from_static(&CHUNK)));
    let mut r = Response::new(Body::from_stream(futures_util::StreamExt::chain(head, tail)));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
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

/// The parameters of an accounts request, read as [`params`] reads them.
pub(crate) struct Form(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for Form {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let query = req.uri().query().map(String::from);
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(String::from);
        let body = Bytes::from_request(req, state).await.map_err(IntoResponse::into_response)?;
        Ok(Form(params(query.as_deref(), content_type.as_deref(), &body)))
    }
}

/// Reads parameters the way Zoho does: the query string, then the body's fields on top. The body
/// may be `application/x-www-form-urlencoded` (the default) or `multipart/form-data` (what Zoho's
/// own SDKs send to the token endpoint).
pub(crate) fn params(query: Option<&str>, content_type: Option<&str>, body: &[u8]) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::new();
    if let Some(q) = query {
        out.extend(form_urlencoded::parse(q.as_bytes()).into_owned());
    }
    if body.is_empty() {
        return out;
    }
    match content_type.and_then(multipart_boundary) {
        Some(boundary) => out.extend(multipart_fields(body, &boundary)),
        None => out.extend(form_urlencoded::parse(body).into_owned()),
    }
    out
}

fn multipart_boundary(content_type: &str) -> Option<String> {
    let mut parts = content_type.split(';').map(str::trim);
    if !parts.next()?.eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    parts.find_map(|p| p.strip_prefix("boundary=")).map(|b| b.trim_matches('"').to_string())
}

/// The text fields of a multipart body (file parts are read as text too; the mock needs none).
fn multipart_fields(body: &[u8], boundary: &str) -> Vec<(String, String)> {
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    text.split(delimiter.as_str())
        .filter_map(|part| {
            let part = part.strip_prefix("\r\n")?;
            let (head, value) = part.split_once("\r\n\r\n")?;
            let name = head.lines().find_map(|line| {
                let (key, rest) = line.split_once(':')?;
                if !key.trim().eq_ignore_ascii_case("content-disposition") {
                    return None;
                }
                let start = rest.find("name=\"")? + 6;
                let len = rest[start..].find('"')?;
                Some(rest[start..start + len].to_string())
            })?;
            Some((name, value.strip_suffix("\r\n").unwrap_or(value).to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_and_urlencoded_bodies() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"client_id\"\r\n\r\n1000.A\r\n\
                    --XyZ\r\nContent-Disposition: form-data; name=\"code\"\r\n\r\nab=c\r\n--XyZ--\r\n";
        let p = params(Some("code=old&x=1"), Some("multipart/form-data; boundary=XyZ"), body.as_bytes());
        assert_eq!(p.get("client_id").map(String::as_str), Some("1000.A"));
        assert_eq!(p.get("code").map(String::as_str), Some("ab=c"), "the body wins over the query");
        assert_eq!(p.get("x").map(String::as_str), Some("1"));
        let p = params(None, Some("application/x-www-form-urlencoded"), b"a=1&b=2");
        assert_eq!(p.len(), 2);
        let no_boundary = params(None, Some("multipart/form-data"), b"a=1");
        assert_eq!(
            no_boundary.get("a").map(String::as_str),
            Some("1"),
            "without a boundary the body is read as a form"
        );
    }
}
