//! `token_store=` given an object instead of a URL: the user's key-value store (`get`,
//! `compare_and_set`, `keys`; the `zoho_oauth.KeyValueStore` protocol) as the core's
//! [`KeyValueStore`]. Only conversion lives here: the core's [`CasStore`] builds every token-store
//! operation (lease, fencing, budget, backoff) on those three calls.
//!
//! The methods are plain (blocking) Python functions, called on a thread of tokio's blocking
//! pool with the GIL taken there, so a slow store never stalls the runtime's workers and an
//! asyncio loop keeps running while they work.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};
use zoho_oauth::clock::BoxFuture;
use zoho_oauth::{CasStore, KeyValueStore, KvError};

use crate::errors::{PyResultExt, config};
use crate::runtime::attach_unless_exiting;

const METHODS: [&str; 3] = ["get", "compare_and_set", "keys"];

/// A Python object with `get`, `compare_and_set` and `keys`.
struct PyKeyValueStore {
    obj: Arc<Py<PyAny>>,
}

/// The token store for `obj`: a URL string is not one (the caller handles those); anything
/// else must have the three methods, checked now so a wrong object fails at construction.
pub(crate) fn user_store(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Arc<CasStore>> {
    let ty = type_name(obj);
    for m in METHODS {
        let callable = obj.getattr(m).map(|a| a.is_callable()).unwrap_or(false);
        if !callable {
            return Err(config(
                py,
                format!("token_store is a {ty} without a {m}() method"),
                "pass a store URL (memory://, file:///…, redis://…, postgres://…) or an object with get(key), \
                 compare_and_set(key, expected, new) and keys(): see zoho_oauth.KeyValueStore",
                None,
            ));
        }
    }
    let mut store = CasStore::new(Arc::new(PyKeyValueStore { obj: Arc::new(obj.clone().unbind()) }), &ty);
    if let Ok(t) = obj.getattr("timeout")
        && !t.is_none()
    {
        store = store.with_timeout_secs(t.extract().unwrap_or(f64::NAN)).py_err(py)?;
    }
    Ok(Arc::new(store))
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "object".into())
}

/// Run `f` with the GIL on a blocking-pool thread; a Python exception becomes the error.
async fn call<T: Send + 'static>(
    f: impl FnOnce(Python<'_>) -> Result<T, KvError> + Send + 'static,
) -> Result<T, KvError> {
    let joined = tokio::task::spawn_blocking(move || {
        let mut out = None;
        attach_unless_exiting(|py| out = Some(f(py)));
        out.unwrap_or_else(|| Err("the Python interpreter is exiting".into()))
    })
    .await;
    joined.map_err(|e| KvError::from(format!("the call did not finish: {e}")))?
}

/// A Python exception as the store's failure: its type and message.
fn failure(py: Python<'_>, e: PyErr) -> KvError {
    let ty = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "Exception".into());
    format!("{ty}: {}", e.value(py)).into()
}

/// Call `method` of the store and check its answer is not a coroutine (an `async def` method
/// cannot run on the worker thread that calls it).
fn invoke<'py>(
    py: Python<'py>,
    obj: &Py<PyAny>,
    method: &str,
    args: impl pyo3::call::PyCallArgs<'py>,
) -> Result<Bound<'py, PyAny>, KvError> {
    let out = obj.bind(py).call_method1(method, args).map_err(|e| failure(py, e))?;
    if out.hasattr("__await__").unwrap_or(false) {
        let _ = out.call_method0("close");
        return Err("it is a coroutine function; the store's methods must be plain functions (they run on a \
                    worker thread, so blocking I/O in them is fine), not async def"
            .into());
    }
    Ok(out)
}

/// A `str` (or UTF-8 `bytes`, as redis-py returns) answer.
fn text(v: &Bound<'_, PyAny>, method: &str) -> Result<String, KvError> {
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(s.to_cow().map_err(|e| e.to_string())?.into_owned());
    }
    if let Ok(b) = v.cast::<PyBytes>() {
        return String::from_utf8(b.as_bytes().to_vec())
            .map_err(|_| format!("{method}() returned bytes that are not UTF-8; store the value as given").into());
    }
    Err(format!("{method}() returned a {}; it must return str (or bytes)", type_name(v)).into())
}

impl KeyValueStore for PyKeyValueStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, KvError>> {
        let (obj, key) = (self.obj.clone(), key.to_string());
        Box::pin(call(move |py| {
            let v = invoke(py, &obj, "get", (key,))?;
            if v.is_none() { Ok(None) } else { text(&v, "get").map(Some) }
        }))
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, KvError>> {
        let (obj, key) = (self.obj.clone(), key.to_string());
        let (expected, new) = (expected.map(str::to_string), new.map(str::to_string));
        Box::pin(call(move |py| {
            let v = invoke(py, &obj, "compare_and_set", (key, expected, new))?;
            match v.cast::<PyBool>() {
                Ok(b) => Ok(b.is_true()),
                Err(_) => Err(format!(
                    "compare_and_set() returned {}; it must return True when it wrote the new value and False \
                     when the current value was not the expected one",
                    if v.is_none() { "None".to_string() } else { format!("a {}", type_name(&v)) }
                )
                .into()),
            }
        }))
    }

    fn keys(&self) -> BoxFuture<'_, Result<Vec<String>, KvError>> {
        let obj = self.obj.clone();
        Box::pin(call(move |py| {
            let v = invoke(py, &obj, "keys", ())?;
            let it = v
                .try_iter()
                .map_err(|_| format!("keys() returned a {}; it must return an iterable of str", type_name(&v)))?;
            it.map(|k| text(&k.map_err(|e| failure(py, e))?, "keys")).collect()
        }))
    }
}
