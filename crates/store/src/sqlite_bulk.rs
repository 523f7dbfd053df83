//! Reading many rows from SQLite fast, for the engine rebuild at start-up.
//!
//! sqlx hands each row from its SQLite worker thread to the async side through a channel,
//! about 10 µs a row: 10 s for a million users. Here the statement is stepped on the calling
//! thread through the raw handle sqlx lends out (`lock_handle`), at SQLite's own speed. This
//! blocks the thread for the duration, which is fine before the server listens and wrong
//! anywhere else: use it for bulk loads only.

use std::ffi::CString;
use std::ptr;

use libsqlite3_sys as ffi;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::error::{Result, StoreError};

/// The current row of a statement being stepped.
pub(crate) struct Row {
    stmt: *mut ffi::sqlite3_stmt,
}

impl Row {
    /// The row view of `stmt`; valid to read while `stmt` is positioned on a row.
    pub(crate) fn new(stmt: *mut ffi::sqlite3_stmt) -> Self {
        Self { stmt }
    }

    pub(crate) fn i64(&self, col: i32) -> i64 {
        // SAFETY: `stmt` is a live statement positioned on a row (see `for_each_row`).
        unsafe { ffi::sqlite3_column_int64(self.stmt, col) }
    }

    /// Text (NULL as `None`).
    pub(crate) fn text(&self, col: i32) -> Option<String> {
        self.bytes(col)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    }

    /// A text column's bytes borrowed from the row, valid until the next step (NULL as `None`).
    fn bytes(&self, col: i32) -> Option<&[u8]> {
        // SAFETY: as above; the borrow cannot outlive `self`, which the stepping loop only
        // lends to its visitor while the statement stays on this row.
        unsafe {
            if ffi::sqlite3_column_type(self.stmt, col) == ffi::SQLITE_NULL {
                return None;
            }
            let data = ffi::sqlite3_column_text(self.stmt, col);
            let len = ffi::sqlite3_column_bytes(self.stmt, col) as usize;
            if data.is_null() {
                return Some(&[]);
            }
            Some(std::slice::from_raw_parts(data, len))
        }
    }

    /// A blob column's bytes borrowed from the row, valid until the next step (NULL as `None`).
    pub(crate) fn blob(&self, col: i32) -> Option<&[u8]> {
        // SAFETY: as `bytes`; `sqlite3_column_bytes` follows `sqlite3_column_blob`, as the
        // SQLite documentation requires.
        unsafe {
            if ffi::sqlite3_column_type(self.stmt, col) == ffi::SQLITE_NULL {
                return None;
            }
            let data = ffi::sqlite3_column_blob(self.stmt, col).cast::<u8>();
            let len = ffi::sqlite3_column_bytes(self.stmt, col) as usize;
            if data.is_null() {
                return Some(&[]);
            }
            Some(std::slice::from_raw_parts(data, len))
        }
    }

    /// A UUID stored as a 16-byte blob; `None` for NULL (or anything that is not 16 bytes).
    pub(crate) fn uuid(&self, col: i32) -> Option<Uuid> {
        // SAFETY: as above; the blob pointer is valid until the next step, and we copy it out
        // right away. `sqlite3_column_bytes` is called after `sqlite3_column_blob`, as the
        // SQLite documentation requires.
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
}

fn error(db: *mut ffi::sqlite3, what: &str) -> StoreError {
    // SAFETY: `db` is the live handle; sqlite3_errmsg returns a NUL-terminated string owned
    // by SQLite, copied out here.
    let message = unsafe { std::ffi::CStr::from_ptr(ffi::sqlite3_errmsg(db)) }
        .to_string_lossy()
        .into_owned();
    StoreError::Corrupt(format!("{what}: {message}"))
}

/// Runs `sql` (no parameters) and calls `visit` for each row, on this thread.
pub(crate) async fn for_each_row(
    conn: &mut SqliteConnection,
    sql: &str,
    mut visit: impl FnMut(&Row) -> Result<()>,
) -> Result<()> {
    let sql =
        CString::new(sql).map_err(|_| StoreError::Corrupt("SQL with a NUL byte".to_owned()))?;
    let mut handle = conn.lock_handle().await?;
    let db = handle.as_raw_handle().as_ptr();
    let mut stmt: *mut ffi::sqlite3_stmt = ptr::null_mut();
    // SAFETY: `db` stays locked to us for the life of `handle`; the statement is finalized on
    // every path below before `handle` is dropped.
    unsafe {
        if ffi::sqlite3_prepare_v2(db, sql.as_ptr(), -1, &mut stmt, ptr::null_mut())
            != ffi::SQLITE_OK
        {
            return Err(error(db, "prepare"));
        }
        let row = Row { stmt };
        let result = loop {
            match ffi::sqlite3_step(stmt) {
                ffi::SQLITE_ROW => {
                    if let Err(e) = visit(&row) {
                        break Err(e);
                    }
                }
                ffi::SQLITE_DONE => break Ok(()),
                _ => break Err(error(db, "step")),
            }
        };
        ffi::sqlite3_finalize(stmt);
        result
    }
}
