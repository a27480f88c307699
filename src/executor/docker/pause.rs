//! The pause image an awsvpc task's network namespace lives in. There is no registry to pull
//! `amazon/amazon-ecs-pause` from, so berth imports its own: a root filesystem holding one
//! 129-byte static x86-64 program that calls pause(2) forever. As PID 1 it ignores SIGTERM,
//! so berth removes it with SIGKILL (`force`), which is all a namespace holder needs.

use bollard::Docker;
use bollard::query_parameters::CreateImageOptions;
use futures_util::StreamExt;

pub const IMAGE: &str = "berth/pause:1";

/// ELF64 header + one PT_LOAD program header + `loop: mov eax, 34; syscall; jmp loop`.
#[rustfmt::skip]
const PAUSE_X86_64: [u8; 129] = [
    // e_ident: magic, 64-bit, little endian, version 1, System V
    0x7f, b'E', b'L', b'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    2, 0,                   // e_type: EXEC
    0x3e, 0,                // e_machine: x86-64
    1, 0, 0, 0,             // e_version
    0x78, 0, 0x40, 0, 0, 0, 0, 0, // e_entry: 0x400078
    0x40, 0, 0, 0, 0, 0, 0, 0,    // e_phoff: 64
    0, 0, 0, 0, 0, 0, 0, 0,       // e_shoff
    0, 0, 0, 0,             // e_flags
    0x40, 0,                // e_ehsize
    0x38, 0,                // e_phentsize
    1, 0,                   // e_phnum
    0, 0, 0, 0, 0, 0,       // e_shentsize, e_shnum, e_shstrndx
    // program header: PT_LOAD, R+X, the whole file at 0x400000
    1, 0, 0, 0,
    5, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0x40, 0, 0, 0, 0, 0,
    0, 0, 0x40, 0, 0, 0, 0, 0,
    0x81, 0, 0, 0, 0, 0, 0, 0,
    0x81, 0, 0, 0, 0, 0, 0, 0,
    0, 0x10, 0, 0, 0, 0, 0, 0,
    // code at 0x400078
    0xb8, 34, 0, 0, 0,      // mov eax, 34 (pause)
    0x0f, 0x05,             // syscall
    0xeb, 0xf7,             // jmp back to mov
];

/// The image's root filesystem as a tar archive.
fn rootfs() -> std::io::Result<Vec<u8>> {
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(PAUSE_X86_64.len() as u64);
    header.set_mode(0o755);
    header.set_cksum();
    tar.append_data(&mut header, "pause", &PAUSE_X86_64[..])?;
    tar.into_inner()
}

/// Imports the pause image unless the engine already has it.
pub async fn ensure(docker: &Docker) -> Result<(), String> {
    if docker.inspect_image(IMAGE).await.is_ok() {
        return Ok(());
    }
    if std::env::consts::ARCH != "x86_64" {
        return Err(format!(
            "berth's pause program is x86-64 only; this host is {}",
            std::env::consts::ARCH
        ));
    }
    let (repo, tag) = IMAGE.split_once(':').unwrap_or((IMAGE, "latest"));
    let options = CreateImageOptions {
        from_src: Some("-".into()),
        repo: Some(repo.into()),
        tag: Some(tag.into()),
        changes: vec!["CMD [\"/pause\"]".into()],
        ..Default::default()
    };
    let body = rootfs().map_err(|e| format!("building the pause rootfs: {e}"))?;
    let mut stream =
        docker.create_image(Some(options), Some(bollard::body_full(body.into())), None);
    while let Some(item) = stream.next().await {
        item.map_err(|e| format!("importing {IMAGE}: {e}"))?;
    }
    Ok(())
}
