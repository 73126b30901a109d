//! A disk that can be made to refuse writes, for tests of what storage
//! failures do: an SQLite VFS named [`VFS`] that passes everything to the
//! system's own VFS, except that the writes, truncations and syncs of files
//! under a [`FaultyDisk`]'s directory fail with `SQLITE_IOERR_*` while it
//! says so, as a full, failing or read-only disk makes them fail. Both
//! drivers (sqlx and the direct writer) link the same SQLite, so a database
//! opened with `?vfs=faulty` is on this disk for every connection.

use rusqlite::ffi;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, Once};

/// The VFS name to open a database with (`sqlite:…?vfs=faulty`).
pub const VFS: &str = "faulty";
const VFS_NAME: &CStr = c"faulty";

/// The directories on this disk, each with its switch. Switches are leaked:
/// a file holds a pointer to its own for as long as it is open.
static DIRS: Mutex<Vec<(PathBuf, &'static AtomicBool)>> = Mutex::new(Vec::new());

/// Files under one directory, opened through [`VFS`].
pub struct FaultyDisk {
    refusing: &'static AtomicBool,
}

impl FaultyDisk {
    /// Files opened under `dir` from now on obey [`Self::refuse_writes`].
    pub fn under(dir: &Path) -> FaultyDisk {
        register();
        let refusing: &'static AtomicBool = Box::leak(Box::new(AtomicBool::new(false)));
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        DIRS.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((dir, refusing));
        FaultyDisk { refusing }
    }

    /// From now on, every write, truncation and sync fails (`true`), or
    /// works again (`false`).
    pub fn refuse_writes(&self, refuse: bool) {
        self.refusing.store(refuse, Ordering::SeqCst);
    }
}

/// Our file: SQLite's header, the switch, then the system VFS's file.
#[repr(C)]
struct File {
    base: ffi::sqlite3_file,
    /// Null for a file under no [`FaultyDisk`] (it never refuses).
    refusing: *const AtomicBool,
}

/// Where the system VFS's file starts in ours (8-byte aligned).
const REAL_AT: usize = std::mem::size_of::<File>().next_multiple_of(8);

unsafe fn real(file: *mut ffi::sqlite3_file) -> *mut ffi::sqlite3_file {
    (file as *mut u8).add(REAL_AT) as *mut ffi::sqlite3_file
}

unsafe fn refusing(file: *mut ffi::sqlite3_file) -> bool {
    let f = file as *mut File;
    !(*f).refusing.is_null() && (*(*f).refusing).load(Ordering::SeqCst)
}

/// The system VFS (ours keeps a pointer to it in `pAppData`).
unsafe fn system(vfs: *mut ffi::sqlite3_vfs) -> *mut ffi::sqlite3_vfs {
    (*vfs).pAppData as *mut ffi::sqlite3_vfs
}

fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| unsafe {
        // SQLite is initialised by the first connection; make sure it is.
        ffi::sqlite3_initialize();
        let system = ffi::sqlite3_vfs_find(std::ptr::null());
        assert!(!system.is_null(), "SQLite has a default VFS");
        let mut vfs: ffi::sqlite3_vfs = std::ptr::read(system);
        vfs.szOsFile = (REAL_AT as c_int) + (*system).szOsFile;
        vfs.pNext = std::ptr::null_mut();
        vfs.zName = VFS_NAME.as_ptr();
        vfs.pAppData = system as *mut c_void;
        vfs.xOpen = Some(x_open);
        vfs.xDelete = Some(x_delete);
        vfs.xAccess = Some(x_access);
        vfs.xFullPathname = Some(x_full_pathname);
        let vfs = Box::leak(Box::new(vfs));
        let rc = ffi::sqlite3_vfs_register(vfs, 0);
        assert_eq!(rc, ffi::SQLITE_OK, "registering the faulty VFS");
    });
}

unsafe extern "C" fn x_open(
    vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let f = file as *mut File;
    (*f).base.pMethods = std::ptr::null();
    (*f).refusing = std::ptr::null();
    let sys = system(vfs);
    let rc = ((*sys).xOpen.expect("xOpen"))(sys, name, real(file), flags, out_flags);
    if rc != ffi::SQLITE_OK || (*real(file)).pMethods.is_null() {
        return rc;
    }
    if !name.is_null() {
        let path = Path::new(CStr::from_ptr(name).to_str().unwrap_or(""));
        let dirs = DIRS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, switch)) = dirs.iter().find(|(dir, _)| path.starts_with(dir)) {
            (*f).refusing = *switch as *const AtomicBool;
        }
    }
    (*f).base.pMethods = &METHODS;
    rc
}

unsafe extern "C" fn x_delete(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    sync_dir: c_int,
) -> c_int {
    let sys = system(vfs);
    ((*sys).xDelete.expect("xDelete"))(sys, name, sync_dir)
}

unsafe extern "C" fn x_access(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    flags: c_int,
    out: *mut c_int,
) -> c_int {
    let sys = system(vfs);
    ((*sys).xAccess.expect("xAccess"))(sys, name, flags, out)
}

unsafe extern "C" fn x_full_pathname(
    vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    n: c_int,
    out: *mut c_char,
) -> c_int {
    let sys = system(vfs);
    ((*sys).xFullPathname.expect("xFullPathname"))(sys, name, n, out)
}

/// Calls the system file's method `$m` with the real file and `$args`.
macro_rules! pass {
    ($file:expr, $m:ident $(, $arg:expr)*) => {{
        let r = real($file);
        ((*(*r).pMethods).$m.expect(stringify!($m)))(r $(, $arg)*)
    }};
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    pass!(file, xClose)
}

unsafe extern "C" fn x_read(
    file: *mut ffi::sqlite3_file,
    buf: *mut c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    pass!(file, xRead, buf, amount, offset)
}

unsafe extern "C" fn x_write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: ffi::sqlite3_int64,
) -> c_int {
    if refusing(file) {
        return ffi::SQLITE_IOERR_WRITE;
    }
    pass!(file, xWrite, buf, amount, offset)
}

unsafe extern "C" fn x_truncate(file: *mut ffi::sqlite3_file, size: ffi::sqlite3_int64) -> c_int {
    if refusing(file) {
        return ffi::SQLITE_IOERR_TRUNCATE;
    }
    pass!(file, xTruncate, size)
}

unsafe extern "C" fn x_sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    if refusing(file) {
        return ffi::SQLITE_IOERR_FSYNC;
    }
    pass!(file, xSync, flags)
}

unsafe extern "C" fn x_file_size(
    file: *mut ffi::sqlite3_file,
    size: *mut ffi::sqlite3_int64,
) -> c_int {
    pass!(file, xFileSize, size)
}

unsafe extern "C" fn x_lock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    pass!(file, xLock, level)
}

unsafe extern "C" fn x_unlock(file: *mut ffi::sqlite3_file, level: c_int) -> c_int {
    pass!(file, xUnlock, level)
}

unsafe extern "C" fn x_check_reserved_lock(file: *mut ffi::sqlite3_file, out: *mut c_int) -> c_int {
    pass!(file, xCheckReservedLock, out)
}

unsafe extern "C" fn x_file_control(
    file: *mut ffi::sqlite3_file,
    op: c_int,
    arg: *mut c_void,
) -> c_int {
    pass!(file, xFileControl, op, arg)
}

unsafe extern "C" fn x_sector_size(file: *mut ffi::sqlite3_file) -> c_int {
    pass!(file, xSectorSize)
}

unsafe extern "C" fn x_device_characteristics(file: *mut ffi::sqlite3_file) -> c_int {
    pass!(file, xDeviceCharacteristics)
}

unsafe extern "C" fn x_shm_map(
    file: *mut ffi::sqlite3_file,
    page: c_int,
    size: c_int,
    extend: c_int,
    out: *mut *mut c_void,
) -> c_int {
    pass!(file, xShmMap, page, size, extend, out)
}

unsafe extern "C" fn x_shm_lock(
    file: *mut ffi::sqlite3_file,
    offset: c_int,
    n: c_int,
    flags: c_int,
) -> c_int {
    pass!(file, xShmLock, offset, n, flags)
}

unsafe extern "C" fn x_shm_barrier(file: *mut ffi::sqlite3_file) {
    pass!(file, xShmBarrier)
}

unsafe extern "C" fn x_shm_unmap(file: *mut ffi::sqlite3_file, delete: c_int) -> c_int {
    pass!(file, xShmUnmap, delete)
}

unsafe extern "C" fn x_fetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    amount: c_int,
    out: *mut *mut c_void,
) -> c_int {
    pass!(file, xFetch, offset, amount, out)
}

unsafe extern "C" fn x_unfetch(
    file: *mut ffi::sqlite3_file,
    offset: ffi::sqlite3_int64,
    page: *mut c_void,
) -> c_int {
    pass!(file, xUnfetch, offset, page)
}

/// Version 3 (shared memory for WAL, memory-mapped reads), as the unix
/// VFS's files have.
static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(x_close),
    xRead: Some(x_read),
    xWrite: Some(x_write),
    xTruncate: Some(x_truncate),
    xSync: Some(x_sync),
    xFileSize: Some(x_file_size),
    xLock: Some(x_lock),
    xUnlock: Some(x_unlock),
    xCheckReservedLock: Some(x_check_reserved_lock),
    xFileControl: Some(x_file_control),
    xSectorSize: Some(x_sector_size),
    xDeviceCharacteristics: Some(x_device_characteristics),
    xShmMap: Some(x_shm_map),
    xShmLock: Some(x_shm_lock),
    xShmBarrier: Some(x_shm_barrier),
    xShmUnmap: Some(x_shm_unmap),
    xFetch: Some(x_fetch),
    xUnfetch: Some(x_unfetch),
};
