//! Fast reads on SQLite: each thread keeps its own read-only connection with its prepared
//! statements, and a read runs right there, on the calling thread.
//!
//! sqlx runs every SQLite connection on a worker thread and passes each row across to the async
//! side: tens of microseconds a query, ten a row, which is most of the cost of a REST read. A
//! point read from SQLite's page cache takes a few microseconds, so blocking the calling
//! (tokio) thread for it costs less than handing it off. In WAL mode these readers see every
//! transaction the writer has committed. Every statement is reset after use, so no read
//! transaction is left open to hold back checkpoints.

use std::cell::RefCell;
use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::ptr;
use std::sync::Arc;

use libsqlite3_sys as ffi;
use uuid::Uuid;

use crate::error::{Result, StoreError};

/// A value to bind.
pub(crate) enum Bind<'a> {
    Uuid(Uuid),
    I64(i64),
    Text(&'a str),
}

/// The current row of a statement.
pub(crate) struct Row {
    stmt: *mut ffi::sqlite3_stmt,
}

// SAFETY for every method: `stmt` is a live statement positioned on a row by `Reader::query`,
// and column data is copied out before the next step.
impl Row {
    fn is_null(&self, col: i32) -> bool {
        unsafe { ffi::sqlite3_column_type(self.stmt, col) == ffi::SQLITE_NULL }
    }

    pub(crate) fn i64(&self, col: i32) -> i64 {
        unsafe { ffi::sqlite3_column_int64(self.stmt, col) }
    }

    pub(crate) fn opt_i64(&self, col: i32) -> Option<i64> {
        (!self.is_null(col)).then(|| self.i64(col))
    }

    pub(crate) fn bool(&self, col: i32) -> bool {
        self.i64(col) != 0
    }

    /// A text column as SQLite holds it, without copying (valid while the row is).
    pub(crate) fn opt_str(&self, col: i32) -> Result<Option<&str>> {
        if self.is_null(col) {
            return Ok(None);
        }
        unsafe {
            let data = ffi::sqlite3_column_text(self.stmt, col);
            let len = ffi::sqlite3_column_bytes(self.stmt, col) as usize;
            if data.is_null() {
                return Ok(Some(""));
            }
            let bytes = std::slice::from_raw_parts(data, len);
            std::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::Corrupt("text column is not UTF-8".to_owned()))
        }
    }

    pub(crate) fn str(&self, col: i32) -> Result<&str> {
        self.opt_str(col)?
            .ok_or_else(|| StoreError::Corrupt(format!("unexpected NULL in column {col}")))
    }

    pub(crate) fn opt_text(&self, col: i32) -> Result<Option<String>> {
        Ok(self.opt_str(col)?.map(str::to_owned))
    }

    pub(crate) fn text(&self, col: i32) -> Result<String> {
        self.str(col).map(str::to_owned)
    }

    pub(crate) fn opt_uuid(&self, col: i32) -> Option<Uuid> {
        unsafe {
            let data = ffi::sqlite3_column_blob(self.stmt, col);
            let len = ffi::sqlite3_column_bytes(self.stmt, col);
            if data.is_null() || len != 16 {
                return None;
            }
            let bytes = std::slice::from_raw_parts(data.cast::<u8>(), 16);
            Some(Uuid::from_bytes(bytes.try_into().expect("16 bytes")))
        }
    }

    pub(crate) fn uuid(&self, col: i32) -> Result<Uuid> {
        self.opt_uuid(col)
            .ok_or_else(|| StoreError::Corrupt(format!("expected a UUID in column {col}")))
    }
}

/// One thread's read-only connection to one database file.
pub(crate) struct Reader {
    db: *mut ffi::sqlite3,
    statements: foldhash::HashMap<String, *mut ffi::sqlite3_stmt>,
}

impl Reader {
    fn open(path: &std::path::Path) -> Result<Self> {
        let c_path = CString::new(path.as_os_str().as_encoded_bytes())
            .map_err(|_| StoreError::Corrupt("database path with a NUL byte".to_owned()))?;
        let mut db = ptr::null_mut();
        // SAFETY: plain FFI open; on failure the handle is closed before returning.
        unsafe {
            // Read-write, but `query_only`: the process's lock on the file (see
            // `EXCLUSIVE_VFS`) is only shared by connections that may write. A read-only one
            // would take a plain shared lock and so replace the process's exclusive one.
            let flags = ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_NOMUTEX;
            let vfs = CString::new(crate::EXCLUSIVE_VFS).expect("no NUL");
            if ffi::sqlite3_open_v2(c_path.as_ptr(), &mut db, flags, vfs.as_ptr()) != ffi::SQLITE_OK
            {
                let e = error(db, "open");
                ffi::sqlite3_close(db);
                return Err(e);
            }
            ffi::sqlite3_busy_timeout(db, 10_000);
            // Map the database file instead of reading it page by page: point reads across a
            // database much larger than SQLite's default 2 MB cache would otherwise pay several
            // syscalls and copies each. Best effort: a failure here only costs speed.
            let pragmas = c"PRAGMA query_only = 1; PRAGMA mmap_size = 17179869184; PRAGMA cache_size = -16384;";
            ffi::sqlite3_exec(db, pragmas.as_ptr(), None, ptr::null_mut(), ptr::null_mut());
        }
        Ok(Self {
            db,
            statements: foldhash::HashMap::default(),
        })
    }

    /// The prepared statement for `sql`, and whether it is kept (else the caller finalizes
    /// it after use).
    fn statement(&mut self, sql: &str) -> Result<(*mut ffi::sqlite3_stmt, bool)> {
        if let Some(stmt) = self.statements.get(sql) {
            return Ok((*stmt, true));
        }
        let c_sql =
            CString::new(sql).map_err(|_| StoreError::Corrupt("SQL with a NUL byte".to_owned()))?;
        let mut stmt = ptr::null_mut();
        // SAFETY: `db` is open for the life of `self`; the statement is finalized in `drop`.
        if unsafe {
            ffi::sqlite3_prepare_v3(
                self.db,
                c_sql.as_ptr(),
                -1,
                ffi::SQLITE_PREPARE_PERSISTENT,
                &mut stmt,
                ptr::null_mut(),
            )
        } != ffi::SQLITE_OK
        {
            return Err(error(self.db, "prepare"));
        }
        // Cache only statements of bounded variety (no generated IN lists of every length).
        let cached = self.statements.len() < 256;
        if cached {
            self.statements.insert(sql.to_owned(), stmt);
        }
        Ok((stmt, cached))
    }

    /// Runs `sql` with `binds` ($1, $2, ... in order) and decodes every row.
    pub(crate) fn query<T>(
        &mut self,
        sql: &str,
        binds: &[Bind<'_>],
        mut decode: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        let (stmt, cached) = self.statement(sql)?;
        // SAFETY: `stmt` belongs to `db`; texts are bound with SQLITE_TRANSIENT (copied by
        // SQLite); the statement is reset (ending its read transaction) on every path.

        unsafe {
            let mut bound = Ok(());
            for (i, b) in binds.iter().enumerate() {
                let n = i as i32 + 1;
                let rc = match b {
                    Bind::Uuid(u) => ffi::sqlite3_bind_blob(
                        stmt,
                        n,
                        u.as_bytes().as_ptr().cast(),
                        16,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                    Bind::I64(v) => ffi::sqlite3_bind_int64(stmt, n, *v),
                    Bind::Text(t) => ffi::sqlite3_bind_text(
                        stmt,
                        n,
                        t.as_ptr().cast(),
                        t.len() as i32,
                        ffi::SQLITE_TRANSIENT(),
                    ),
                };
                if rc != ffi::SQLITE_OK {
                    bound = Err(error(self.db, "bind"));
                    break;
                }
            }
            let mut out = Vec::new();
            let result = bound.and_then(|()| {
                let row = Row { stmt };
                loop {
                    match ffi::sqlite3_step(stmt) {
                        ffi::SQLITE_ROW => out.push(decode(&row)?),
                        ffi::SQLITE_DONE => return Ok(()),
                        _ => return Err(error(self.db, "step")),
                    }
                }
            });
            ffi::sqlite3_reset(stmt);
            ffi::sqlite3_clear_bindings(stmt);
            if !cached {
                ffi::sqlite3_finalize(stmt);
            }
            result.map(|()| out)
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        // SAFETY: every statement belongs to `db`, which nothing else uses.
        unsafe {
            for stmt in self.statements.values() {
                ffi::sqlite3_finalize(*stmt);
            }
            ffi::sqlite3_close(self.db);
        }
    }
}

fn error(db: *mut ffi::sqlite3, what: &str) -> StoreError {
    if db.is_null() {
        return StoreError::Corrupt(format!("sqlite {what} failed"));
    }
    // SAFETY: `db` is a live handle; the message is copied out.
    let message = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .into_owned();
    StoreError::Corrupt(format!("sqlite {what}: {message}"))
}

thread_local! {
    /// This thread's readers, one per database file.
    static READERS: RefCell<Vec<(Arc<PathBuf>, Reader)>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's reader for the database at `path` (opened on first use).
pub(crate) fn with_reader<T>(
    path: &Arc<PathBuf>,
    f: impl FnOnce(&mut Reader) -> Result<T>,
) -> Result<T> {
    READERS.with(|readers| {
        let mut readers = readers.borrow_mut();
        let index = match readers.iter().position(|(p, _)| p == path) {
            Some(i) => i,
            None => {
                readers.push((path.clone(), Reader::open(path)?));
                readers.len() - 1
            }
        };
        f(&mut readers[index].1)
    })
}
