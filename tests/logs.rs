//! Log lines cannot be forged: a value with a line break stays on its event's line.

use std::io::Write;
use std::sync::{Arc, Mutex};

use kcl::OneLinePerEvent;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_name_with_a_newline_cannot_forge_a_log_line() {
    let out = Buffer::default();
    let writer = out.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_writer(move || OneLinePerEvent(writer.clone()))
        .finish();
    tracing::subscriber::with_default(subscriber, || {
        let name = "ana\n2026-12-06T00:00:00Z  INFO kcl: logged in user=admin";
        tracing::warn!(user = %name, "failed login");
        tracing::info!("next event");
    });
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines[0].contains("failed login") && lines[0].contains("ana\\n2026"),
        "{text}"
    );
    assert!(lines[1].contains("next event"), "{text}");
}
