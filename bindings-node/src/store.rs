//! `tokenStore` given an object instead of a URL: the user's key-value store (`get`,
//! `compareAndSet`, `keys`; `KeyValueStore` in index.d.ts) as the core's [`KeyValueStore`].
//! Only conversion lives here: the core's [`CasStore`] builds every token-store operation
//! (lease, fencing, budget, backoff) on those three calls.
//!
//! Each call runs the JavaScript method on the JS thread of the env that made the store (through
//! a threadsafe function) and awaits the promise it returns (`index.js` wraps each method so it
//! always returns one, and checks the types of what it resolves to). The functions are weak: a
//! store never keeps the process alive.

use std::sync::Arc;

use napi::Status;
use napi::bindgen_prelude::{FnArgs, Promise};
use napi::threadsafe_function::ThreadsafeFunction;
use napi_derive::napi;
use zoho_oauth::clock::BoxFuture;
use zoho_oauth::config::Naming;
use zoho_oauth::{CasStore, KeyValueStore, KvError};

use crate::promise::check;

/// A JS function of `A`, answering a promise of `R`; weak, not callee-handled.
type JsFn<A, R> = ThreadsafeFunction<A, Promise<R>, A, Status, false, true>;
type SwapArgs = FnArgs<(String, Option<String>, Option<String>)>;

struct JsKeyValueStore {
    get: JsFn<String, Option<String>>,
    compare_and_set: JsFn<SwapArgs, bool>,
    keys: JsFn<(), Vec<String>>,
}

/// The user's store, made by `index.js` from the object given as `tokenStore`.
#[napi]
pub struct NativeKeyValueStore {
    pub(crate) store: Arc<CasStore>,
}

#[napi]
impl NativeKeyValueStore {
    /// Wrap the store's three methods (`kind`: its class name, for messages; `timeout`: its
    /// `timeout` property in seconds, if it has one).
    #[napi(
        constructor,
        ts_args_type = "kind: string, timeout: number | undefined | null, get: (key: string) => Promise<string | null>, compareAndSet: (key: string, expected: string | null, next: string | null) => Promise<boolean>, keys: () => Promise<string[]>"
    )]
    pub fn new(
        kind: String,
        timeout: Option<f64>,
        get: JsFn<String, Option<String>>,
        compare_and_set: JsFn<SwapArgs, bool>,
        keys: JsFn<(), Vec<String>>,
    ) -> napi::Result<Self> {
        let kv = JsKeyValueStore { get, compare_and_set, keys };
        let mut store = CasStore::new(Arc::new(kv), &kind).with_naming(Naming::Camel);
        if let Some(t) = timeout {
            store = check(store.with_timeout_secs(t))?;
        }
        Ok(NativeKeyValueStore { store: Arc::new(store) })
    }
}

/// Call a JS function and await the promise it returns; a rejection becomes the store's failure.
async fn call<A: 'static + napi::bindgen_prelude::JsValuesTupleIntoVec, R: napi::bindgen_prelude::FromNapiValue>(
    f: &JsFn<A, R>,
    args: A,
) -> Result<R, KvError> {
    let promise = f.call_async(args).await.map_err(|e| KvError::from(e.reason.clone()))?;
    promise.await.map_err(|e| KvError::from(e.reason.clone()))
}

impl KeyValueStore for JsKeyValueStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<String>, KvError>> {
        Box::pin(call(&self.get, key.to_string()))
    }

    fn compare_and_set<'a>(
        &'a self,
        key: &'a str,
        expected: Option<&'a str>,
        new: Option<&'a str>,
    ) -> BoxFuture<'a, Result<bool, KvError>> {
        let args = (key.to_string(), expected.map(str::to_string), new.map(str::to_string));
        Box::pin(call(&self.compare_and_set, FnArgs::from(args)))
    }

    fn keys(&self) -> BoxFuture<'_, Result<Vec<String>, KvError>> {
        Box::pin(call(&self.keys, ()))
    }
}
