//! Core errors out as the `ZohoError` subclasses `index.js` defines (DESIGN "Which class").
//!
//! The classes are JavaScript (`class AuthError extends ZohoError`, so `instanceof` and stack
//! traces work as users expect); `index.js` hands them to [`register_error_classes`] once when it
//! loads, and every error is built here: `new <Class>(message)` with the core's message format,
//! then `code`, `family`, `status`, `zohoCode`, `zohoMessage`, `retryAfter`, `hint` and `body`
//! set as own properties from the core error. The family decides the class (`ErrorCode::family`),
//! so no table of codes exists on the JavaScript side.
//!
//! The classes are kept per thread: Node runs one environment per thread (the main thread and
//! each `worker_threads` worker, the same invariant napi-rs relies on for its own per-env data),
//! so a worker's errors are instances of the classes its own `index.js` registered. Errors are
//! only ever built on the JavaScript thread: synchronously in [`check`], and for Promises in the
//! settle callback `promise::spawn` runs there. Nothing of this runs when a call succeeds.

// napi registers exported functions only outside `cfg(test)` (clippy's `--all-targets` build).
#![cfg_attr(test, allow(dead_code))]

use std::cell::RefCell;

use napi::bindgen_prelude::{FunctionRef, JsValue, Object, Unknown};
use napi::{Env, Error, Result, Status};
use napi_derive::napi;
use zoho_oauth::{Error as CoreError, ErrorCode, ErrorFamily};

/// A class constructor as napi sees it; called with `new` and one argument, the message.
type Class = FunctionRef<String, Unknown<'static>>;

/// The error classes of `index.js`: the base and one subclass per core error family.
#[napi(object, object_to_js = false)]
pub struct ErrorClasses {
    /// The base class (also used for binding failures that have no core code).
    #[napi(ts_type = "new (message: string) => Error")]
    pub zoho_error: Class,
    /// `ErrorFamily::Auth`.
    #[napi(ts_type = "new (message: string) => Error")]
    pub auth_error: Class,
    /// `ErrorFamily::RateLimit`.
    #[napi(ts_type = "new (message: string) => Error")]
    pub rate_limit_error: Class,
    /// `ErrorFamily::Api`.
    #[napi(ts_type = "new (message: string) => Error")]
    pub api_error: Class,
    /// `ErrorFamily::Transport`.
    #[napi(ts_type = "new (message: string) => Error")]
    pub transport_error: Class,
    /// `ErrorFamily::Config`.
    #[napi(ts_type = "new (message: string) => Error")]
    pub config_error: Class,
    /// `ErrorFamily::Store`.
    #[napi(ts_type = "new (message: string) => Error")]
    pub store_error: Class,
}

impl ErrorClasses {
    fn for_family(&self, family: Option<ErrorFamily>) -> &Class {
        match family {
            None => &self.zoho_error,
            Some(ErrorFamily::Auth) => &self.auth_error,
            Some(ErrorFamily::RateLimit) => &self.rate_limit_error,
            Some(ErrorFamily::Api) => &self.api_error,
            Some(ErrorFamily::Transport) => &self.transport_error,
            Some(ErrorFamily::Config) => &self.config_error,
            Some(ErrorFamily::Store) => &self.store_error,
        }
    }
}

thread_local! {
    /// This thread's environment's classes (see the module comment), with the raw env they
    /// belong to; cleared by an env cleanup hook when the environment ends.
    static CLASSES: RefCell<Option<(napi::sys::napi_env, ErrorClasses)>> = const { RefCell::new(None) };
}

/// Called once by `index.js` when it loads: the classes every error of this environment is
/// built from. Calling it again replaces them.
#[napi]
pub fn register_error_classes(env: Env, classes: ErrorClasses) -> Result<()> {
    let first = CLASSES.with(|c| c.borrow_mut().replace((env.raw(), classes)).is_none());
    if first {
        // Release the constructor references while the environment can still take them.
        env.add_env_cleanup_hook((), |()| {
            CLASSES.with(|c| drop(c.borrow_mut().take()));
        })?;
    }
    Ok(())
}

/// What a JavaScript error says, before it is built.
struct Fields<'a> {
    message: String,
    code: &'a str,
    family: Option<ErrorFamily>,
    status: Option<u32>,
    zoho_code: Option<&'a str>,
    zoho_message: Option<&'a str>,
    retry_after: Option<f64>,
    hint: Option<&'a str>,
    body: Option<&'a str>,
}

impl<'a> Fields<'a> {
    fn of(e: &'a CoreError) -> Self {
        Fields {
            message: e.to_string(),
            code: e.code().as_str(),
            family: Some(e.code().family()),
            status: e.status().map(u32::from),
            zoho_code: e.zoho_code(),
            zoho_message: e.zoho_message(),
            retry_after: e.retry_after().map(|d| d.as_secs_f64()),
            hint: e.hint(),
            body: e.body(),
        }
    }
}

/// Build the error object on `env`'s thread: an instance of the registered class, or a plain
/// `Error` with the same properties when `index.js` did not register any (the addon loaded on
/// its own).
fn build<'e>(env: &'e Env, f: Fields<'_>) -> Result<Object<'e>> {
    // The constructor is called after the borrow ends: it runs JavaScript.
    let class = CLASSES.with(|c| match c.borrow().as_ref() {
        Some((owner, classes)) if *owner == env.raw() => classes.for_family(f.family).borrow_back(env).map(Some),
        _ => Ok(None),
    })?;
    let mut obj = match class {
        Some(class) => {
            let instance = class.new_instance(f.message)?;
            Object::from_raw(env.raw(), instance.raw())
        }
        None => env.create_error(Error::new(Status::GenericFailure, f.message))?,
    };
    obj.set("code", f.code)?;
    obj.set("family", f.family.map(ErrorFamily::as_str))?;
    obj.set("status", f.status)?;
    obj.set("zohoCode", f.zoho_code)?;
    obj.set("zohoMessage", f.zoho_message)?;
    obj.set("retryAfter", f.retry_after)?;
    obj.set("hint", f.hint)?;
    obj.set("body", f.body)?;
    Ok(obj)
}

/// Wrap a built error object as a napi error: thrown or rejected, napi hands back this very
/// object (napi 3 keeps a reference to it).
fn wrap(obj: Result<Object<'_>>) -> Error {
    match obj {
        Ok(o) => Error::from_unknown_without_coercion(o.to_unknown()),
        Err(e) => e,
    }
}

/// The JavaScript error for a core error (on `env`'s thread).
pub(crate) fn to_js(env: &Env, e: &CoreError) -> Error {
    wrap(build(env, Fields::of(e)))
}

/// The error for a panic in the core: the base class with code `internal` (it has no core code
/// because it is a bug, not an outcome).
pub(crate) fn internal(env: &Env) -> Error {
    wrap(build(
        env,
        Fields {
            message: "zoho-oauth panicked while handling the call".to_string(),
            code: "internal",
            family: None,
            status: None,
            zoho_code: None,
            zoho_message: None,
            retry_after: None,
            hint: Some("this is a bug; please report it with the steps that led to it"),
            body: None,
        },
    ))
}

/// Map a core result to a napi result, for synchronous calls (which run on the JavaScript
/// thread, where this environment's classes are).
pub(crate) fn check<T>(r: zoho_oauth::Result<T>) -> Result<T> {
    r.map_err(|e| {
        CLASSES.with(|c| c.borrow().as_ref().map(|(raw, _)| Env::from_raw(*raw))).map_or_else(
            // No classes registered on this thread: nothing to build on, the message still says it all.
            || Error::new(Status::GenericFailure, e.to_string()),
            |env| to_js(&env, &e),
        )
    })
}

/// The `config` error for bad input that `index.js` catches itself (wrong option types, unknown
/// keys): the same class, properties and message format as the core's own `config` errors.
#[napi(ts_return_type = "Error")]
pub fn config_error<'e>(env: &'e Env, message: String, hint: String) -> Result<Object<'e>> {
    build(env, Fields::of(&CoreError::config(message, hint)))
}

/// The family of a code (`auth`, `rate_limit` ...), or null for a code the core does not have;
/// for errors users construct themselves (`new ZohoError(message, { code })`).
#[napi]
pub fn error_family(code: String) -> Option<&'static str> {
    ErrorCode::from_code(&code).map(|c| c.family().as_str())
}

/// A core error code and its family.
#[napi(object, object_from_js = false)]
pub struct ErrorCodeInfo {
    /// The stable code (`invalid_code` ...).
    pub code: &'static str,
    /// Its family (`auth` ...).
    pub family: &'static str,
}

/// Every core error code with its family, for the check of `index.d.ts` against the
/// implementation (`check-types.mjs`).
#[napi]
pub fn error_codes() -> Vec<ErrorCodeInfo> {
    ErrorCode::ALL.iter().map(|c| ErrorCodeInfo { code: c.as_str(), family: c.family().as_str() }).collect()
}

/// Settle-time outcomes of a Promise that are not a value.
pub(crate) enum Failure {
    /// The core returned an error.
    Core(CoreError),
    /// The call's `AbortSignal` fired; `index.js` rejects with the signal's reason instead.
    Aborted,
    /// The core panicked.
    Panicked,
}

impl Failure {
    /// The rejection value, built on the JavaScript thread.
    pub(crate) fn to_js(&self, env: &Env) -> Error {
        match self {
            Failure::Core(e) => to_js(env, e),
            Failure::Aborted => Error::new(Status::Cancelled, "the operation was aborted"),
            Failure::Panicked => internal(env),
        }
    }
}
