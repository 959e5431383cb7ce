//! The local cache of compiled modules: compiling takes ~100 ms, loading ~0.2 ms.
//!
//! Only this host writes the cache, and only from modules it compiled itself: loading
//! compiled code runs it natively, so a file from anywhere else must never be loaded
//! (wasmtime marks `Module::deserialize` unsafe for that reason). Each file starts with
//! the SHA-256 of the rest, so a damaged file is compiled again rather than loaded, and
//! its name carries the engine's compatibility hash, so another wasmtime or another
//! configuration never reads it.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::{Engine, Module};

#[derive(Debug)]
pub(crate) struct DiskCache {
    dir: PathBuf,
    engine_tag: String,
}

impl DiskCache {
    pub(crate) fn new(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir: dir.to_owned(),
            engine_tag: format!("{:016x}", hasher.finish()),
        })
    }

    fn path(&self, module_sha256: &str) -> PathBuf {
        self.dir
            .join(format!("{module_sha256}-{}.cwasm", self.engine_tag))
    }

    /// The compiled module, if this host cached it and the file is intact.
    pub(crate) fn load(&self, engine: &Engine, module_sha256: &str) -> Option<Module> {
        let bytes = std::fs::read(self.path(module_sha256)).ok()?;
        let (digest, code) = bytes.split_at_checked(32)?;
        if Sha256::digest(code).as_slice() != digest {
            return None;
        }
        // SAFETY: the file was written by `store` below from a module this host compiled
        // (its name binds it to this engine's configuration), and its digest matches, so
        // these are exactly the bytes `Module::serialize` produced here.
        #[allow(unsafe_code)]
        let module = unsafe { Module::deserialize(engine, code) };
        module.ok()
    }

    /// Writes the compiled module; a failure only costs a compile next time.
    pub(crate) fn store(&self, module_sha256: &str, module: &Module) {
        let Ok(code) = module.serialize() else { return };
        let mut bytes = Sha256::digest(&code).to_vec();
        bytes.extend_from_slice(&code);
        let path = self.path(module_sha256);
        let partial = path.with_extension("partial");
        if std::fs::write(&partial, &bytes).is_ok() && std::fs::rename(&partial, &path).is_err() {
            let _ = std::fs::remove_file(&partial);
        }
    }
}
