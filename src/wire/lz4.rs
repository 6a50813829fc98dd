//! LZ4 uplink compression of the 4.x SDK (easemob-websdk 4.21.1; agora-chat 1.x has none): a
//! frame is `varint(original length) ‖ uint32 BE crc32(original) ‖ LZ4 block`, and the SDK's
//! encoder is a streaming one whose blocks refer back into the bytes of earlier frames, so the
//! decoder keeps the last 64 KiB of decoded bytes of its connection as the block's dictionary
//! (wire notes 4.x, section 2, "Compression").
//!
//! Owns the frame format and the per-connection history; pure code, no I/O. Negotiation (the
//! PROVISION fields) is the server session's business.

use thiserror::Error;

/// How far back an LZ4 block may refer.
pub const WINDOW: usize = 64 * 1024;

/// The most bytes one byte of an LZ4 block can decode to: a match length grows by at most 255
/// per byte of its encoding.
const MAX_EXPANSION: usize = 255;

/// Why an LZ4 frame could not be decoded.
#[derive(Debug, Clone, Error, PartialEq, Eq)]
pub enum Lz4Error {
    /// The frame ends inside its header.
    #[error("LZ4 frame of {len} bytes is too short for its header (varint length, crc32)")]
    Header {
        /// The frame's length.
        len: usize,
    },
    /// The LZ4 block is broken.
    #[error("LZ4 block does not decode: {0}")]
    Block(String),
    /// The header says more bytes than a block of this size can decode to.
    #[error("LZ4 frame says {expected} bytes, more than its block of {block} bytes can hold")]
    TooLong {
        /// From the header.
        expected: u64,
        /// The block's length.
        block: usize,
    },
    /// The block decoded to another length than the header says.
    #[error("LZ4 frame says {expected} bytes, the block gave {got}")]
    Length {
        /// From the header.
        expected: usize,
        /// Decoded.
        got: usize,
    },
    /// The checksum of the decoded bytes is not the header's.
    #[error("LZ4 frame crc32 is {expected:#010x}, the decoded bytes give {got:#010x}")]
    Checksum {
        /// From the header.
        expected: u32,
        /// Computed.
        got: u32,
    },
}

/// The decoder of one connection's compressed uplink.
#[derive(Debug, Default, Clone)]
pub struct Lz4Uplink {
    history: Vec<u8>,
}

impl Lz4Uplink {
    /// The decoded bytes a next block may refer into: the last [`WINDOW`] bytes at most.
    pub fn history(&self) -> &[u8] {
        &self.history
    }

    /// Decodes one frame, then keeps its bytes as history for the next ones.
    pub fn decode(&mut self, frame: &[u8]) -> Result<Vec<u8>, Lz4Error> {
        let header = Lz4Error::Header { len: frame.len() };
        let mut rest = frame;
        let length = prost::encoding::decode_varint(&mut rest).map_err(|_| header.clone())?;
        let (crc, block) = rest.split_first_chunk::<4>().ok_or(header)?;
        let crc = u32::from_be_bytes(*crc);
        // The output buffer is allocated at the header's length: bounded by the block first.
        let length = usize::try_from(length)
            .ok()
            .filter(|&length| length <= block.len().saturating_mul(MAX_EXPANSION))
            .ok_or(Lz4Error::TooLong {
                expected: length,
                block: block.len(),
            })?;
        let mut out = vec![0; length];
        let got = lz4_flex::block::decompress_into_with_dict(block, &mut out, &self.history)
            .map_err(|e| Lz4Error::Block(e.to_string()))?;
        if got != length {
            return Err(Lz4Error::Length {
                expected: length,
                got,
            });
        }
        let sum = crc32fast::hash(&out);
        if sum != crc {
            return Err(Lz4Error::Checksum {
                expected: crc,
                got: sum,
            });
        }
        self.history.extend_from_slice(&out);
        if self.history.len() > WINDOW {
            self.history.drain(..self.history.len() - WINDOW);
        }
        Ok(out)
    }
}

/// Encodes `original` as one frame, without history (each block stands alone). For tests and
/// for scripted clients; the SDK's own encoder refers back into earlier frames.
pub fn encode_frame(original: &[u8]) -> Vec<u8> {
    encode_frame_with_history(original, &[])
}

/// Encodes `original` as one frame whose block may refer into `history` (the decoder's
/// [`Lz4Uplink::history`]), as the SDK's streaming encoder does.
pub fn encode_frame_with_history(original: &[u8], history: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    prost::encoding::encode_varint(original.len() as u64, &mut out);
    out.extend_from_slice(&crc32fast::hash(original).to_be_bytes());
    out.extend_from_slice(&lz4_flex::block::compress_with_dict(original, history));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_round_trips() {
        let original = b"MSync MSync MSync MSync payload payload payload".to_vec();
        let mut decoder = Lz4Uplink::default();
        assert_eq!(decoder.decode(&encode_frame(&original)).unwrap(), original);
    }

    #[test]
    fn a_block_may_refer_into_an_earlier_frame() {
        // Compressed with the first frame as dictionary, as a streaming encoder does.
        let first = b"a STATISTIC meta for org#app_alice@easemob.com".to_vec();
        let second = b"a STATISTIC meta for org#app_alice@easemob.com again".to_vec();
        let frame = encode_frame_with_history(&second, &first);
        assert!(frame.len() < second.len());

        let mut decoder = Lz4Uplink::default();
        decoder.decode(&encode_frame(&first)).unwrap();
        assert_eq!(decoder.history(), first);
        assert_eq!(decoder.decode(&frame).unwrap(), second);
        // Without the history the same block cannot be decoded.
        assert!(Lz4Uplink::default().decode(&frame).is_err());
    }

    #[test]
    fn broken_frames_are_errors_not_panics() {
        let mut decoder = Lz4Uplink::default();
        assert!(matches!(
            decoder.decode(&[0x05]),
            Err(Lz4Error::Header { .. })
        ));
        let mut frame = encode_frame(b"hello hello hello");
        frame[1] ^= 0xff;
        assert!(matches!(
            decoder.decode(&frame),
            Err(Lz4Error::Checksum { .. })
        ));
        let mut frame = encode_frame(b"hello");
        frame[0] = 0x7f;
        assert!(decoder.decode(&frame).is_err());
    }

    #[test]
    fn a_header_length_beyond_what_the_block_can_hold_is_refused_before_allocating() {
        // Found by the `lz4_uplink` fuzz target: a header of 2^59 bytes made the decoder
        // allocate that much, and the process abort.
        let mut frame = Vec::new();
        prost::encoding::encode_varint(1 << 59, &mut frame);
        frame.extend_from_slice(&[0, 0, 0, 0, 0x10, b'x']);
        assert_eq!(
            Lz4Uplink::default().decode(&frame),
            Err(Lz4Error::TooLong {
                expected: 1 << 59,
                block: 2
            })
        );
        // The largest expansion a block can reach still decodes.
        let zeros = vec![0; 100_000];
        let frame = encode_frame(&zeros);
        assert!(frame.len() * MAX_EXPANSION > zeros.len());
        assert_eq!(Lz4Uplink::default().decode(&frame).unwrap(), zeros);
    }
}
