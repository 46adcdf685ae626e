//! CRM list pagination (zoho-protocol.md section 9): `page` for the first 2,000 records, then
//! `page_token` from `info.next_page_token` (Zoho refuses `page` past record 2,000 and refuses
//! `page` together with `page_token`). Stops on `more_records: false` or 204 No Content.

use std::collections::{HashSet, VecDeque};

use futures_util::Stream;
use serde_json::Value;

use crate::client::{Client, Product};
use crate::error::{Error, ErrorCode, Result};

/// Records reachable with `page` before Zoho requires `page_token`.
pub(crate) const PAGE_LIMIT_RECORDS: u64 = 2000;

/// Iterates over the records of a CRM list, page by page.
#[derive(Debug)]
pub struct Paginator {
    client: Client,
    path: String,
    query: Vec<(String, String)>,
    product: Product,
    per_page: u32,
    page: u32,
    page_token: Option<String>,
    fetched: u64,
    buffer: VecDeque<Value>,
    done: bool,
    /// Every `next_page_token` followed so far: a repeated one would loop forever.
    seen_tokens: HashSet<String>,
}

impl Paginator {
    pub(crate) fn new(client: Client, path: String) -> Self {
        Paginator {
            client,
            path,
            query: Vec::new(),
            product: Product::Crm,
            per_page: 200,
            page: 1,
            page_token: None,
            fetched: 0,
            buffer: VecDeque::new(),
            done: false,
            seen_tokens: HashSet::new(),
        }
    }

    /// Records per page (1 to 200; default 200).
    pub fn per_page(mut self, n: u32) -> Self {
        self.per_page = n.clamp(1, 200);
        self
    }

    /// Extra query parameters sent with every page (`fields`, `sort_by`, `cvid` ...).
    pub fn query_pair(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }

    /// The next page of records, or `None` after the last one.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>> {
        if self.done {
            return Ok(None);
        }
        let mut req = self
            .client
            .get(self.path.clone())
            .product(self.product)
            .query(&self.query)
            .query_pair("per_page", self.per_page.to_string());
        req = match &self.page_token {
            Some(t) => req.query_pair("page_token", t.clone()),
            None => req.query_pair("page", self.page.to_string()),
        };
        let resp = req.send().await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        if resp.status() == 204 {
            self.done = true;
            return Ok(None);
        }
        let resp = match resp.error_for_status() {
            Ok(r) => r,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let body: Value = match resp.json() {
            Ok(b) => b,
            Err(e) => {
                self.done = true;
                return Err(e);
            }
        };
        let data = match body.get("data") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => Vec::new(),
            Some(_) => {
                self.done = true;
                return Err(Error::new(ErrorCode::InvalidResponse, "the list answer's `data` is not an array")
                    .with_hint("paginate only works on CRM list endpoints such as /crm/v8/Leads"));
            }
        };
        let info = body.get("info");
        let more = info.and_then(|i| i.get("more_records")).and_then(Value::as_bool).unwrap_or(false);
        let next_token = info
            .and_then(|i| i.get("next_page_token"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string);
        self.fetched += data.len() as u64;
        if !more || data.is_empty() {
            self.done = true;
        } else if self.page_token.is_some() {
            match next_token {
                Some(t) => self.follow(t)?,
                None => self.done = true,
            }
        } else if self.fetched + u64::from(self.per_page) > PAGE_LIMIT_RECORDS {
            match next_token {
                Some(t) => self.follow(t)?,
                None => self.page += 1,
            }
        } else {
            self.page += 1;
        }
        Ok(Some(data))
    }

    /// Follow `token` next, unless it was followed before: a server repeating a token would
    /// send the same pages forever.
    fn follow(&mut self, token: String) -> Result<()> {
        if !self.seen_tokens.insert(token.clone()) {
            self.done = true;
            return Err(Error::new(ErrorCode::InvalidResponse, "the list answer repeated a next_page_token")
                .with_hint("the server would send the same pages forever; pagination stopped"));
        }
        self.page_token = Some(token);
        Ok(())
    }

    /// The next record, or `None` after the last one.
    pub async fn next_record(&mut self) -> Result<Option<Value>> {
        loop {
            if let Some(r) = self.buffer.pop_front() {
                return Ok(Some(r));
            }
            match self.next_page().await? {
                Some(page) => self.buffer.extend(page),
                None => return Ok(None),
            }
        }
    }

    /// The records as a stream; an error is yielded once and ends the stream.
    pub fn into_stream(self) -> impl Stream<Item = Result<Value>> + Send {
        futures_util::stream::unfold(Some(self), |state| async move {
            let mut p = state?;
            match p.next_record().await {
                Ok(Some(r)) => Some((Ok(r), Some(p))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// Read every record into a vector.
    pub async fn collect_all(mut self) -> Result<Vec<Value>> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }
}
