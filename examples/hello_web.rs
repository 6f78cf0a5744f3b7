//! A tiny web server for `Procfile.example`: answers every request on `$PORT` with a greeting,
//! so the example runs on a machine that has nothing but the Rust toolchain.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

fn main() -> std::io::Result<()> {
    let port = std::env::var("PORT").unwrap_or_else(|_| "5000".to_owned());
    let greeting = std::env::var("GREETING").unwrap_or_else(|_| "hello".to_owned());
    let listener = TcpListener::bind(("127.0.0.1", port.parse().unwrap_or(5000)))?;
    println!("listening on http://127.0.0.1:{port}/");
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut request_line = String::new();
        BufReader::new(&stream).read_line(&mut request_line)?;
        println!("{}", request_line.trim_end());
        let body = format!("{greeting} from {}\n", std::env::var("PS").unwrap_or_default());
        write!(
            stream,
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
    }
    Ok(())
}
