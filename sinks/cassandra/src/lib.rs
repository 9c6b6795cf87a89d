//! eddy's C ABI over the ScyllaDB Rust driver, for the cassandra sink.
//! The functions, their arguments, ownership and errors are documented in
//! sinks/ed_cql.h; this file keeps the two in step. Every exported function
//! runs its body under `catch_unwind`, so no panic unwinds into C.

use std::ffi::{c_char, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::errors::{DbError, ExecutionError, PrepareError, RequestAttemptError};
use scylla::frame::response::result::ColumnType;
use scylla::frame::types::Consistency;
use scylla::policies::timestamp_generator::MonotonicTimestampGenerator;
use scylla::serialize::value::SerializeValue;
use scylla::serialize::writers::{CellWriter, WrittenCellProof};
use scylla::serialize::SerializationError;
use scylla::statement::batch::{Batch, BatchType};
use scylla::statement::prepared::PreparedStatement;
use scylla::value::CqlTimestamp;
use tokio::runtime::Runtime;

const OK: i32 = 0;
const TRANSIENT: i32 = 1;
const PERMANENT: i32 = 2;

/// The session handle behind `ed_cql_t *`.
pub struct Cql {
    rt: Runtime,
    session: Option<Session>,
}

/// The statement handle behind `ed_cql_stmt_t *`.
pub struct Stmt {
    prepared: PreparedStatement,
    nparams: usize,
}

/// Mirrors ed_cql_opts_t.
#[repr(C)]
pub struct Opts {
    contact_points: *const c_char,
    keyspace: *const c_char,
    consistency: *const c_char,
    connect_timeout_ms: u32,
    request_timeout_ms: u32,
}

/// Mirrors ed_cql_value_t.
#[repr(C)]
pub struct Value {
    vtype: i32,
    s: *const u8,
    len: usize,
    i: i64,
    d: f64,
}

/// A bound value, borrowing its text from the caller for one call.
enum V<'a> {
    Null,
    Text(&'a str),
    BigInt(i64),
    Double(f64),
    Bool(bool),
    Time(CqlTimestamp),
}

impl SerializeValue for V<'_> {
    fn serialize<'b>(
        &self,
        typ: &ColumnType,
        writer: CellWriter<'b>,
    ) -> Result<WrittenCellProof<'b>, SerializationError> {
        match self {
            V::Null => Ok(writer.set_null()),
            V::Text(s) => s.serialize(typ, writer),
            V::BigInt(i) => i.serialize(typ, writer),
            V::Double(d) => d.serialize(typ, writer),
            V::Bool(b) => b.serialize(typ, writer),
            V::Time(t) => t.serialize(typ, writer),
        }
    }
}

/// An outcome and its message.
type Fail = (i32, String);

/// Copies `msg` into the caller's buffer, NUL-terminated, truncated on a
/// UTF-8 boundary to fit.
fn put_err(err: *mut c_char, errlen: usize, msg: &str) {
    if err.is_null() || errlen == 0 {
        return;
    }
    let mut n = msg.len().min(errlen - 1);
    while n > 0 && !msg.is_char_boundary(n) {
        n -= 1;
    }
    // SAFETY: the caller gives errlen writable bytes at err (ed_cql.h).
    unsafe {
        std::ptr::copy_nonoverlapping(msg.as_ptr(), err as *mut u8, n);
        *err.add(n) = 0;
    }
}

/// Runs `f` with panics caught; reports its failure into err.
fn guard<F: FnOnce() -> Result<(), Fail>>(err: *mut c_char, errlen: usize, f: F) -> i32 {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => OK,
        Ok(Err((code, msg))) => {
            put_err(err, errlen, &msg);
            code
        }
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_string());
            put_err(err, errlen, &format!("internal error in the CQL driver wrapper: {what}"));
            PERMANENT
        }
    }
}

fn cstr<'a>(p: *const c_char, what: &str) -> Result<Option<&'a str>, Fail> {
    if p.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL pointer is a NUL-terminated string (ed_cql.h).
    let s = unsafe { CStr::from_ptr(p) };
    s.to_str()
        .map(Some)
        .map_err(|_| (PERMANENT, format!("{what} is not valid UTF-8")))
}

fn consistency(name: Option<&str>) -> Result<Consistency, Fail> {
    let n = name.unwrap_or("local_quorum").to_ascii_lowercase();
    Ok(match n.as_str() {
        "any" => Consistency::Any,
        "one" => Consistency::One,
        "two" => Consistency::Two,
        "three" => Consistency::Three,
        "quorum" => Consistency::Quorum,
        "all" => Consistency::All,
        "local_quorum" => Consistency::LocalQuorum,
        "each_quorum" => Consistency::EachQuorum,
        "local_one" => Consistency::LocalOne,
        _ => {
            return Err((
                PERMANENT,
                format!(
                    "unknown consistency '{n}'; expected any, one, two, three, quorum, all, \
                     local_quorum, each_quorum or local_one"
                ),
            ))
        }
    })
}

/// Server refusals that a retry cannot fix.
fn db_permanent(e: &DbError) -> bool {
    matches!(
        e,
        DbError::SyntaxError
            | DbError::Invalid
            | DbError::AlreadyExists { .. }
            | DbError::FunctionFailure { .. }
            | DbError::AuthenticationError
            | DbError::Unauthorized
            | DbError::ConfigError
            | DbError::ProtocolError
    )
}

fn attempt_code(e: &RequestAttemptError) -> i32 {
    match e {
        RequestAttemptError::DbError(db, _) if db_permanent(db) => PERMANENT,
        RequestAttemptError::SerializationError(_)
        | RequestAttemptError::CqlRequestSerialization(_) => PERMANENT,
        _ => TRANSIENT,
    }
}

fn exec_fail(e: &ExecutionError) -> Fail {
    let code = match e {
        ExecutionError::BadQuery(_) => PERMANENT,
        ExecutionError::LastAttemptError(a) => attempt_code(a),
        ExecutionError::PrepareError(p) => prepare_code(p),
        _ => TRANSIENT,
    };
    (code, e.to_string())
}

fn prepare_code(e: &PrepareError) -> i32 {
    match e {
        PrepareError::AllAttemptsFailed { first_attempt } => attempt_code(first_attempt),
        _ => TRANSIENT,
    }
}

fn ms(v: u32, def: u64) -> Duration {
    Duration::from_millis(if v == 0 { def } else { v as u64 })
}

fn connect(opts: &Opts) -> Result<Box<Cql>, Fail> {
    let points = cstr(opts.contact_points, "contact_points")?.unwrap_or("");
    let nodes: Vec<&str> = points.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if nodes.is_empty() {
        return Err((PERMANENT, "no contact point given".to_string()));
    }
    let keyspace = cstr(opts.keyspace, "keyspace")?;
    let cl = consistency(cstr(opts.consistency, "consistency")?)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("eddy-cql")
        .enable_all()
        .build()
        .map_err(|e| (TRANSIENT, format!("cannot start the driver's runtime: {e}")))?;
    let profile = ExecutionProfile::builder()
        .consistency(cl)
        .request_timeout(Some(ms(opts.request_timeout_ms, 10_000)))
        .build();
    let mut b = SessionBuilder::new()
        .known_nodes(&nodes)
        .connection_timeout(ms(opts.connect_timeout_ms, 5_000))
        .default_execution_profile_handle(profile.into_handle())
        .timestamp_generator(Arc::new(MonotonicTimestampGenerator::new()));
    if let Some(ks) = keyspace {
        b = b.use_keyspace(ks, true);
    }
    let session = rt
        .block_on(b.build())
        .map_err(|e| (TRANSIENT, format!("cannot connect to {points}: {e}")))?;
    Ok(Box::new(Cql { rt, session: Some(session) }))
}

/// # Safety
/// See ed_cql_connect in sinks/ed_cql.h.
#[no_mangle]
pub unsafe extern "C" fn ed_cql_connect(
    opts: *const Opts,
    out: *mut *mut Cql,
    err: *mut c_char,
    errlen: usize,
) -> i32 {
    guard(err, errlen, || {
        if opts.is_null() || out.is_null() {
            return Err((PERMANENT, "ed_cql_connect: NULL argument".to_string()));
        }
        *out = std::ptr::null_mut();
        let c = connect(&*opts)?;
        *out = Box::into_raw(c);
        Ok(())
    })
}

fn session(c: *mut Cql) -> Result<&'static mut Cql, Fail> {
    if c.is_null() {
        return Err((PERMANENT, "NULL session".to_string()));
    }
    // SAFETY: a live handle from ed_cql_connect, used by one thread (ed_cql.h).
    let c = unsafe { &mut *c };
    if c.session.is_none() {
        return Err((PERMANENT, "session closed".to_string()));
    }
    Ok(c)
}

/// # Safety
/// See ed_cql_query in sinks/ed_cql.h.
#[no_mangle]
pub unsafe extern "C" fn ed_cql_query(
    c: *mut Cql,
    cql: *const c_char,
    err: *mut c_char,
    errlen: usize,
) -> i32 {
    guard(err, errlen, || {
        let c = session(c)?;
        let q = cstr(cql, "statement")?.unwrap_or("").to_string();
        let s = c.session.as_ref().unwrap();
        c.rt.block_on(s.query_unpaged(q, ())).map(|_| ()).map_err(|e| exec_fail(&e))
    })
}

/// # Safety
/// See ed_cql_prepare in sinks/ed_cql.h.
#[no_mangle]
pub unsafe extern "C" fn ed_cql_prepare(
    c: *mut Cql,
    cql: *const c_char,
    out: *mut *mut Stmt,
    err: *mut c_char,
    errlen: usize,
) -> i32 {
    guard(err, errlen, || {
        if out.is_null() {
            return Err((PERMANENT, "ed_cql_prepare: NULL out".to_string()));
        }
        *out = std::ptr::null_mut();
        let c = session(c)?;
        let q = cstr(cql, "statement")?.unwrap_or("").to_string();
        let s = c.session.as_ref().unwrap();
        let mut prepared = c.rt.block_on(s.prepare(q)).map_err(|e| {
            let code = prepare_code(&e);
            (code, e.to_string())
        })?;
        // An upsert with a client timestamp may run twice with one outcome.
        prepared.set_is_idempotent(true);
        let nparams = prepared.get_variable_col_specs().len();
        *out = Box::into_raw(Box::new(Stmt { prepared, nparams }));
        Ok(())
    })
}

/// # Safety
/// See ed_cql_stmt_nparams in sinks/ed_cql.h.
#[no_mangle]
pub unsafe extern "C" fn ed_cql_stmt_nparams(s: *const Stmt) -> usize {
    if s.is_null() {
        return 0;
    }
    (*s).nparams
}

/// The C values as bound values; text must be UTF-8.
fn values<'a>(vals: &'a [Value]) -> Result<Vec<V<'a>>, Fail> {
    vals.iter()
        .enumerate()
        .map(|(k, v)| {
            Ok(match v.vtype {
                0 => V::Null,
                1 => {
                    let b: &[u8] = if v.len == 0 {
                        &[]
                    } else {
                        // SAFETY: len bytes at s, borrowed for the call (ed_cql.h).
                        unsafe { std::slice::from_raw_parts(v.s, v.len) }
                    };
                    V::Text(std::str::from_utf8(b).map_err(|_| {
                        (PERMANENT, format!("value {k}: text is not valid UTF-8"))
                    })?)
                }
                2 => V::BigInt(v.i),
                3 => V::Double(v.d),
                4 => V::Bool(v.i != 0),
                5 => V::Time(CqlTimestamp(v.i)),
                t => return Err((PERMANENT, format!("value {k}: unknown type {t}"))),
            })
        })
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn write(
    c: &mut Cql,
    st: &Stmt,
    vals: &[Value],
    nrows: usize,
    ends: &[usize],
    max_inflight: u32,
    failed_req: *mut usize,
    requests: *mut u64,
) -> Result<(), Fail> {
    let np = st.nparams;
    let vs = values(vals)?;
    let mut from = 0;
    for (k, &e) in ends.iter().enumerate() {
        if e <= from || e > nrows {
            return Err((PERMANENT, format!("request {k}: bad row range end {e}")));
        }
        from = e;
    }
    if from != nrows {
        return Err((PERMANENT, format!("requests cover {from} of {nrows} rows")));
    }
    let session = c.session.as_ref().unwrap();
    let row = |r: usize| -> &[V] { &vs[r * np..(r + 1) * np] };
    let one = |k: usize| {
        let lo = if k == 0 { 0 } else { ends[k - 1] };
        let hi = ends[k];
        async move {
            let r = if hi - lo == 1 {
                session.execute_unpaged(&st.prepared, row(lo)).await.map(|_| ())
            } else {
                let mut b = Batch::new(BatchType::Unlogged);
                b.set_is_idempotent(true);
                let mut bv: Vec<&[V]> = Vec::with_capacity(hi - lo);
                for r in lo..hi {
                    b.append_statement(st.prepared.clone());
                    bv.push(row(r));
                }
                session.batch(&b, bv).await.map(|_| ())
            };
            (k, r)
        }
    };
    let limit = if max_inflight == 0 { 32 } else { max_inflight as usize };
    let results: Vec<(usize, Result<(), ExecutionError>)> = c
        .rt
        .block_on(stream::iter(0..ends.len()).map(one).buffer_unordered(limit).collect());
    if !requests.is_null() {
        // SAFETY: a writable u64 when not NULL (ed_cql.h).
        unsafe { *requests = results.len() as u64 };
    }
    let mut worst: Option<(usize, Fail)> = None;
    for (k, r) in results {
        if let Err(e) = r {
            let f = exec_fail(&e);
            let replace = match &worst {
                None => true,
                Some((wk, w)) => f.0 > w.0 || (f.0 == w.0 && k < *wk),
            };
            if replace {
                worst = Some((k, f));
            }
        }
    }
    match worst {
        None => Ok(()),
        Some((k, f)) => {
            if !failed_req.is_null() {
                // SAFETY: a writable size_t when not NULL (ed_cql.h).
                unsafe { *failed_req = k };
            }
            Err(f)
        }
    }
}

/// # Safety
/// See ed_cql_write in sinks/ed_cql.h.
#[no_mangle]
pub unsafe extern "C" fn ed_cql_write(
    c: *mut Cql,
    s: *const Stmt,
    vals: *const Value,
    nrows: usize,
    req_end: *const usize,
    nreq: usize,
    max_inflight: u32,
    failed_req: *mut usize,
    requests: *mut u64,
    err: *mut c_char,
    errlen: usize,
) -> i32 {
    guard(err, errlen, || {
        if !requests.is_null() {
            *requests = 0;
        }
        let c = session(c)?;
        if s.is_null() {
            return Err((PERMANENT, "NULL statement".to_string()));
        }
        let st = &*s;
        if nrows == 0 {
            return Ok(());
        }
        if vals.is_null() || req_end.is_null() || nreq == 0 {
            return Err((PERMANENT, "ed_cql_write: NULL values or requests".to_string()));
        }
        let vals = std::slice::from_raw_parts(vals, nrows * st.nparams);
        let ends = std::slice::from_raw_parts(req_end, nreq);
        write(c, st, vals, nrows, ends, max_inflight, failed_req, requests)
    })
}

/// # Safety
/// See ed_cql_stmt_free in sinks/ed_cql.h.
#[no_mangle]
pub unsafe extern "C" fn ed_cql_stmt_free(s: *mut Stmt) {
    if !s.is_null() {
        let _ = catch_unwind(AssertUnwindSafe(|| drop(Box::from_raw(s))));
    }
}

/// # Safety
/// See ed_cql_close in sinks/ed_cql.h.
#[no_mangle]
pub unsafe extern "C" fn ed_cql_close(c: *mut Cql) {
    if c.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let Cql { rt, session } = *Box::from_raw(c);
        // The session's drop stops its background tasks; it needs the runtime.
        rt.block_on(async move { drop(session) });
        rt.shutdown_timeout(Duration::from_secs(1));
    }));
}
