//! One open socket as the fan-out and the socket's own task share it.
//!
//! The fan-out writes a batch's frames (encoded once per batch, the same bytes
//! for every socket) straight into each socket's kernel buffer with a
//! non-blocking write, without waking the socket's task: at 10,000 sockets a
//! task wake and a WebSocket library call per socket added half again to the
//! kernel's cost of the write itself (profiled). Whatever the kernel does not take at once waits in [`Out::pending`]
//! (whole frames only, so frames never interleave) until the socket's task
//! sees the socket writable again.

use std::io::{self, Read, Write};
use std::sync::{Mutex, MutexGuard};
use tokio::net::TcpStream;
use tokio::sync::Notify;

/// Bytes a socket may leave unread before it misses shared frames and is
/// told to resync instead (a browser that reads keeps this near zero).
const MAX_PENDING: usize = 256 * 1024;

pub(super) struct Peer {
    pub tcp: TcpStream,
    out: Mutex<Out>,
    /// Wakes the socket's task: bytes wait for the kernel, its user has new
    /// inbox items, or it must resync.
    pub wake: Notify,
    pub user: domain::UserId,
    /// The role may see delivery statuses / analytics figures.
    pub deliveries: bool,
    pub analytics: bool,
}

#[derive(Default)]
struct Out {
    /// Whole frames the kernel has not taken yet, oldest first.
    pending: Vec<u8>,
    /// Until the hello is out, shared frames queue behind it.
    held: bool,
    /// No more shared frames: a close frame is on its way.
    silenced: bool,
    /// The connection failed; nothing more is written.
    broken: bool,
    /// Shared frames were dropped for want of room.
    lagged: bool,
    inbox: bool,
    resync: bool,
    session: bool,
}

/// What the fan-out asked of a socket's task since it last looked.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Due {
    /// Its user's inbox changed: send what is new and the unread count.
    pub inbox: bool,
    /// Changes were lost (the feed's or this socket's): the pages reload.
    pub resync: bool,
    /// A session of its user ended (a sign-out): check this one now.
    pub session: bool,
}

/// The connection failed or the peer went away.
#[derive(Debug)]
pub(super) struct Broken;

impl Peer {
    pub fn new(tcp: TcpStream, user: domain::UserId, deliveries: bool, analytics: bool) -> Peer {
        Peer {
            tcp,
            out: Mutex::new(Out {
                held: true,
                ..Out::default()
            }),
            wake: Notify::new(),
            user,
            deliveries,
            analytics,
        }
    }

    fn out(&self) -> MutexGuard<'_, Out> {
        self.out.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Writes what the kernel takes now; keeps the rest in order.
    fn write_or_queue(&self, out: &mut Out, frame: &[u8]) {
        let rest = if out.pending.is_empty() && !out.held {
            match self.tcp.try_write(frame) {
                Ok(n) => &frame[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => frame,
                Err(_) => {
                    out.broken = true;
                    self.wake.notify_one();
                    return;
                }
            }
        } else {
            frame
        };
        if !rest.is_empty() {
            let first = out.pending.is_empty();
            out.pending.extend_from_slice(rest);
            if first {
                self.wake.notify_one();
            }
        }
    }

    /// A frame from the fan-out, the same bytes for every socket.
    pub fn share(&self, frame: &[u8]) {
        let mut out = self.out();
        if out.broken || out.silenced || out.lagged {
            return;
        }
        if out.pending.len() + frame.len() > MAX_PENDING {
            out.lagged = true;
            self.wake.notify_one();
            return;
        }
        self.write_or_queue(&mut out, frame);
    }

    /// A frame of this socket's own (its task then waits for [`Self::flush`]).
    pub fn push(&self, frame: &[u8]) -> Result<(), Broken> {
        let mut out = self.out();
        if out.broken {
            return Err(Broken);
        }
        self.write_or_queue(&mut out, frame);
        Ok(())
    }

    /// The first frame: goes out before any shared frame queued meanwhile.
    pub fn open(&self, hello: &[u8]) -> Result<(), Broken> {
        let mut out = self.out();
        out.pending.splice(0..0, hello.iter().copied());
        out.held = false;
        drop(out);
        self.try_flush().map(|_| ())
    }

    /// From now on only this task's frames (the close) go out.
    pub fn silence(&self) {
        self.out().silenced = true;
    }

    pub fn flag(&self, due: Due) {
        let mut out = self.out();
        out.inbox |= due.inbox;
        out.resync |= due.resync;
        out.session |= due.session;
        drop(out);
        self.wake.notify_one();
    }

    /// What is due, once: a dropped frame means a resync.
    pub fn take_due(&self) -> Due {
        let mut out = self.out();
        Due {
            inbox: std::mem::take(&mut out.inbox),
            resync: std::mem::take(&mut out.resync) | std::mem::take(&mut out.lagged),
            session: std::mem::take(&mut out.session),
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.out().pending.is_empty()
    }

    /// Hands the kernel what it takes now; `Ok(true)` when nothing is left.
    pub fn try_flush(&self) -> Result<bool, Broken> {
        let mut out = self.out();
        if out.broken {
            return Err(Broken);
        }
        while !out.pending.is_empty() {
            match self.tcp.try_write(&out.pending) {
                Ok(n) => {
                    out.pending.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(_) => {
                    out.broken = true;
                    return Err(Broken);
                }
            }
        }
        Ok(true)
    }

    /// Waits until the kernel has taken every pending byte.
    pub async fn flush(&self) -> Result<(), Broken> {
        while !self.try_flush()? {
            self.tcp.writable().await.map_err(|_| Broken)?;
        }
        Ok(())
    }
}

/// The socket as the WebSocket library sees it: reads come from the kernel
/// (after what the HTTP server had already read), writes join the peer's
/// ordered output and never block.
pub(super) struct Wire {
    pub peer: std::sync::Arc<Peer>,
    /// Bytes read with the upgrade request, before the socket was ours.
    pub early: bytes::Bytes,
}

impl Read for Wire {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.early.is_empty() {
            let n = buf.len().min(self.early.len());
            buf[..n].copy_from_slice(&self.early.split_to(n));
            return Ok(n);
        }
        self.peer.tcp.try_read(buf)
    }
}

impl Write for Wire {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.peer
            .push(buf)
            .map(|()| buf.len())
            .map_err(|Broken| io::ErrorKind::BrokenPipe.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A server frame as the bytes on the wire.
pub(super) fn encode(frame: &app::live::ServerFrame) -> Vec<u8> {
    text_frame(&serde_json::to_string(frame).expect("frames serialise"))
}

/// A text frame as a server sends it (unmasked, one fragment).
pub(super) fn text_frame(text: &str) -> Vec<u8> {
    use tungstenite::protocol::frame::coding::{Data, OpCode};
    use tungstenite::protocol::frame::Frame;
    let mut out = Vec::with_capacity(text.len() + 10);
    Frame::message(text.to_owned(), OpCode::Data(Data::Text), true)
        .format(&mut out)
        .expect("a Vec takes every byte");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tokio::io::AsyncReadExt;

    /// A connected pair on loopback: the server's side as a peer, and the
    /// browser's side.
    async fn pair() -> (Arc<Peer>, TcpStream) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let browser = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        (
            Arc::new(Peer::new(server, domain::UserId(1), true, true)),
            browser,
        )
    }

    /// The payloads of the whole text frames in `bytes`, and what is left.
    fn frames(mut bytes: &[u8]) -> (Vec<String>, usize) {
        let mut out = Vec::new();
        while bytes.len() >= 2 {
            assert_eq!(bytes[0], 0x81, "an unmasked, final text frame");
            let (len, head) = match bytes[1] {
                126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
                127 => (
                    u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                    10,
                ),
                n => (n as usize, 2),
            };
            if bytes.len() < head + len {
                break;
            }
            out.push(String::from_utf8(bytes[head..head + len].to_vec()).unwrap());
            bytes = &bytes[head + len..];
        }
        (out, bytes.len())
    }

    async fn read_frames(browser: &mut TcpStream, count: usize) -> Vec<String> {
        let mut buf = Vec::new();
        loop {
            let (got, _) = frames(&buf);
            if got.len() >= count {
                return got;
            }
            let mut chunk = vec![0u8; 64 * 1024];
            let n =
                tokio::time::timeout(std::time::Duration::from_secs(10), browser.read(&mut chunk))
                    .await
                    .expect("frames within 10 s")
                    .unwrap();
            assert!(n > 0, "the server side closed");
            buf.extend(&chunk[..n]);
        }
    }

    #[tokio::test]
    async fn shared_frames_wait_behind_the_hello_and_keep_their_order() {
        let (peer, mut browser) = pair().await;
        peer.share(&text_frame("shared 1"));
        peer.push(&text_frame("own 1")).unwrap();
        peer.open(&text_frame("hello")).unwrap();
        peer.flush().await.unwrap();
        peer.share(&text_frame("shared 2"));
        peer.push(&text_frame("own 2")).unwrap();
        peer.flush().await.unwrap();
        assert_eq!(
            read_frames(&mut browser, 5).await,
            ["hello", "shared 1", "own 1", "shared 2", "own 2"]
        );
    }

    #[tokio::test]
    async fn a_browser_that_stops_reading_misses_whole_frames_and_is_told_to_resync() {
        let (peer, mut browser) = pair().await;
        peer.open(&text_frame("hello")).unwrap();
        assert_eq!(peer.take_due(), Due::default());
        // The browser reads nothing while the fan-out goes on writing.
        let payload = "x".repeat(60_000);
        let mut shared = 0;
        while peer.take_due() == Due::default() {
            peer.share(&text_frame(&format!("{shared:06}{payload}")));
            shared += 1;
            assert!(shared < 100_000, "never lagged");
        }
        assert_eq!(peer.take_due(), Due::default(), "told once");
        // Own frames still go out after what was queued.
        peer.push(&text_frame("resync")).unwrap();
        let drained = tokio::spawn({
            let peer = peer.clone();
            async move { peer.flush().await }
        });
        let mut buf = Vec::new();
        while !buf.ends_with(&text_frame("resync")) {
            let mut chunk = vec![0u8; 256 * 1024];
            let n = browser.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server side closed");
            buf.extend(&chunk[..n]);
        }
        drained.await.unwrap().unwrap();
        let (got, rest) = frames(&buf);
        assert_eq!(rest, 0, "nothing after the last frame");
        assert_eq!(got[0], "hello");
        let numbers: Vec<usize> = got[1..got.len() - 1]
            .iter()
            .map(|f| f[..6].parse().unwrap())
            .collect();
        // Whole frames, in order, from the first; the last one shared was
        // dropped (that is what raised the flag).
        assert_eq!(numbers, (0..numbers.len()).collect::<Vec<_>>());
        assert!(numbers.len() < shared, "{} of {shared}", numbers.len());
        assert!(got[1..got.len() - 1]
            .iter()
            .all(|f| f.len() == 6 + payload.len()));
    }

    #[tokio::test]
    async fn a_closed_browser_breaks_the_peer_and_silence_stops_shared_frames() {
        let (peer, browser) = pair().await;
        peer.open(&text_frame("hello")).unwrap();
        peer.silence();
        peer.share(&text_frame("not after the close"));
        assert!(!peer.has_pending());
        drop(browser);
        // The first write after the peer went away may still be taken.
        let mut broken = false;
        for _ in 0..100 {
            if peer.push(&text_frame("anyone?")).is_err() || peer.try_flush().is_err() {
                broken = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(broken, "writes to a closed connection fail");
    }
}
