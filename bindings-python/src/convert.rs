//! Options in: Python values to the core's types. Bad input becomes `ConfigError` (also a
//! `ValueError`) before any network I/O, naming the argument and never echoing a secret.

use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple};
use serde_json::Value;

use crate::errors::config;

/// A scalar query, form or header value as text. Booleans become `true`/`false` (what Zoho's
/// APIs expect); `None` means "leave the parameter out".
fn scalar(py: Python<'_>, what: &str, key: &str, v: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    if v.is_none() {
        return Ok(None);
    }
    if let Ok(b) = v.cast::<PyBool>() {
        return Ok(Some(if b.is_true() { "true" } else { "false" }.to_string()));
    }
    if let Ok(s) = v.cast::<PyString>() {
        return Ok(Some(s.to_cow()?.into_owned()));
    }
    if v.is_exact_instance_of::<PyInt>()
        && let Ok(i) = v.extract::<i64>()
    {
        // What `str()` gives for an int, without a Python string in between.
        return Ok(Some(i.to_string()));
    }
    if v.is_instance_of::<PyInt>() || v.is_instance_of::<PyFloat>() {
        return Ok(Some(v.str()?.to_cow()?.into_owned()));
    }
    let ty = v.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
    Err(config(
        py,
        format!("{what} {key:?} has a value of type {ty}"),
        format!("{what} values must be str, int, float or bool (or a list of them)"),
        None,
    ))
}

/// Pairs from a mapping (`{"k": "v", "k2": ["a", "b"]}`) or a sequence of `(key, value)` pairs.
/// A list or tuple value repeats the key.
pub(crate) fn pairs(py: Python<'_>, what: &str, obj: &Bound<'_, PyAny>) -> PyResult<Vec<(String, String)>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        // Collected before any value is converted: a conversion runs Python code (`str()` of a
        // float subclass, say) that could change the dict under a live iterator.
        let items: Vec<_> = d.iter().collect();
        return collect_pairs(py, what, items);
    }
    let items: Vec<Bound<'_, PyAny>> = if let Ok(m) = obj.cast::<PyMapping>() {
        m.items()?.iter().collect()
    } else if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(config(
            py,
            format!("{what} must be a mapping or a sequence of pairs, not a string"),
            format!("pass {what} as a dict such as {{\"per_page\": 200}}"),
            None,
        ));
    } else {
        match obj.try_iter() {
            Ok(it) => it.collect::<PyResult<Vec<_>>>()?,
            Err(e) => {
                return Err(config(
                    py,
                    format!("{what} must be a mapping or a sequence of pairs"),
                    format!("pass {what} as a dict such as {{\"per_page\": 200}}"),
                    Some(e),
                ));
            }
        }
    };
    let items = items
        .into_iter()
        .map(|item| {
            item.extract::<(Bound<'_, PyAny>, Bound<'_, PyAny>)>().map_err(|e| {
                config(py, format!("{what} must contain (key, value) pairs"), format!("pass {what} as a dict"), Some(e))
            })
        })
        .collect::<PyResult<Vec<_>>>()?;
    collect_pairs(py, what, items)
}

/// The text pairs of `(key, value)` items: a list or tuple value repeats the key, `None` leaves
/// the pair out.
fn collect_pairs<'py>(
    py: Python<'py>,
    what: &str,
    items: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
) -> PyResult<Vec<(String, String)>> {
    let mut out = Vec::with_capacity(items.len());
    for (k, v) in items {
        let key = match k.cast::<PyString>() {
            Ok(s) => s.to_cow()?.into_owned(),
            Err(_) => k.str()?.to_cow()?.into_owned(),
        };
        if v.is_instance_of::<PyList>() || v.is_instance_of::<PyTuple>() {
            for x in v.try_iter()? {
                if let Some(s) = scalar(py, what, &key, &x?)? {
                    out.push((key.clone(), s));
                }
            }
        } else if let Some(s) = scalar(py, what, &key, &v)? {
            out.push((key, s));
        }
    }
    Ok(out)
}

/// A JSON value to Python (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn json_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    use pyo3::IntoPyObjectExt;
    match v {
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)
            }
        }
        Value::String(s) => s.into_bound_py_any(py),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(json_to_py(py, x)?)?;
            }
            Ok(list.into_any())
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, x) in o {
                d.set_item(k, json_to_py(py, x)?)?;
            }
            Ok(d.into_any())
        }
    }
}

/// A JSON value handed to Python once the GIL is held (async results).
pub(crate) struct Json(pub Option<Value>);

impl<'py> IntoPyObject<'py> for Json {
    type Target = PyAny;
    type Output = Bound<'py, PyAny>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match self.0 {
            Some(v) => json_to_py(py, &v),
            None => Err(pyo3::exceptions::PyStopAsyncIteration::new_err(())),
        }
    }
}
