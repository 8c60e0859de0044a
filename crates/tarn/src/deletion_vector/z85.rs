//! Z85, the base85 variant the Delta protocol uses for deletion vector ids and inline vectors
//! (PROTOCOL.md, "Deletion Vector Descriptor Schema"; the alphabet and block rules are ZeroMQ
//! RFC 32).
//!
//! Z85 maps each 4-byte big-endian block to 5 characters, most significant digit first. This
//! module decides whether text is valid Z85 and what bytes it stands for; it never accepts a
//! character outside the alphabet, a partial block, or a block above `u32::MAX`, and never
//! guesses at a length it was not given.
//!
//! The protocol encodes inline vectors whose size is not a multiple of 4 by zero-padding the
//! last block and recording the true size in `sizeInBytes`: [`encode_padded`] and
//! [`decode_padded`] do that; [`encode`] and [`decode`] are strict Z85.

/// The 85 characters of Z85, in digit order.
const ALPHABET: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Marks a byte that is not a Z85 character in [`DIGITS`].
const NOT_A_DIGIT: u8 = u8::MAX;

/// The digit value of every byte, [`NOT_A_DIGIT`] for bytes outside the alphabet.
const DIGITS: [u8; 256] = {
    let mut digits = [NOT_A_DIGIT; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        digits[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    digits
};

/// Why text or bytes cannot be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Z85Error {
    /// Strict Z85 encodes whole 4-byte blocks only.
    #[error("cannot Z85-encode {len} bytes: not a multiple of 4")]
    UnalignedBytes {
        /// The number of bytes given.
        len: usize,
    },
    /// Z85 text is made of whole 5-character blocks.
    #[error("Z85 text of {len} characters is not a multiple of 5")]
    UnalignedText {
        /// The length of the text in bytes.
        len: usize,
    },
    /// A character outside the Z85 alphabet.
    #[error("invalid Z85 character {character:?} at position {position}")]
    InvalidCharacter {
        /// The offending character.
        character: char,
        /// Its byte position in the text.
        position: usize,
    },
    /// A 5-character block whose value does not fit in 32 bits.
    #[error("Z85 block at position {position} is larger than 32 bits")]
    BlockOverflow {
        /// Byte position of the block's first character.
        position: usize,
    },
    /// Padded decoding: the text does not hold the expected number of bytes plus at most 3
    /// bytes of padding.
    #[error("Z85 text decodes to {decoded} bytes, which cannot hold {expected} bytes plus padding")]
    LengthMismatch {
        /// The number of bytes the caller expected.
        expected: usize,
        /// The number of bytes the text decodes to.
        decoded: usize,
    },
}

/// Encodes bytes whose length is a multiple of 4.
pub fn encode(bytes: &[u8]) -> Result<String, Z85Error> {
    if !bytes.len().is_multiple_of(4) {
        return Err(Z85Error::UnalignedBytes { len: bytes.len() });
    }
    let mut text = String::with_capacity(bytes.len() / 4 * 5);
    for block in bytes.chunks_exact(4) {
        push_block(
            &mut text,
            u32::from_be_bytes([block[0], block[1], block[2], block[3]]),
        );
    }
    Ok(text)
}

/// Encodes any bytes, zero-padding the last block to 4 bytes (how Delta writes inline
/// vectors). The true length must be kept alongside, as `sizeInBytes` is.
pub fn encode_padded(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len().div_ceil(4) * 5);
    for block in bytes.chunks(4) {
        let mut padded = [0u8; 4];
        padded[..block.len()].copy_from_slice(block);
        push_block(&mut text, u32::from_be_bytes(padded));
    }
    text
}

/// Decodes Z85 text (a whole number of 5-character blocks) to bytes.
pub fn decode(text: &str) -> Result<Vec<u8>, Z85Error> {
    let input = text.as_bytes();
    if !input.len().is_multiple_of(5) {
        return Err(Z85Error::UnalignedText { len: input.len() });
    }
    let mut bytes = Vec::with_capacity(input.len() / 5 * 4);
    for (index, block) in input.chunks_exact(5).enumerate() {
        let start = index * 5;
        let mut value: u64 = 0;
        for (offset, &byte) in block.iter().enumerate() {
            let digit = DIGITS[usize::from(byte)];
            if digit == NOT_A_DIGIT {
                let position = start + offset;
                // Every byte before `position` is an ASCII alphabet character, so `position`
                // is a character boundary.
                let character = text[position..].chars().next().unwrap_or('\u{FFFD}');
                return Err(Z85Error::InvalidCharacter {
                    character,
                    position,
                });
            }
            value = value * 85 + u64::from(digit);
        }
        let value =
            u32::try_from(value).map_err(|_| Z85Error::BlockOverflow { position: start })?;
        bytes.extend_from_slice(&value.to_be_bytes());
    }
    Ok(bytes)
}

/// Decodes text written by [`encode_padded`] for `len` bytes: the text must decode to `len`
/// bytes rounded up to a multiple of 4, and the padding is dropped.
pub fn decode_padded(text: &str, len: usize) -> Result<Vec<u8>, Z85Error> {
    let mut bytes = decode(text)?;
    if bytes.len() != len.div_ceil(4) * 4 {
        return Err(Z85Error::LengthMismatch {
            expected: len,
            decoded: bytes.len(),
        });
    }
    bytes.truncate(len);
    Ok(bytes)
}

/// Appends the 5 characters of one block, most significant digit first.
fn push_block(text: &mut String, mut value: u32) {
    let mut digits = [0u8; 5];
    for digit in digits.iter_mut().rev() {
        *digit = ALPHABET[(value % 85) as usize];
        value /= 85;
    }
    text.extend(digits.iter().map(|&d| char::from(d)));
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn zeromq_reference_vector() {
        // RFC 32's test case.
        let bytes = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&bytes).unwrap(), "HelloWorld");
        assert_eq!(decode("HelloWorld").unwrap(), bytes);
    }

    #[test]
    fn protocol_uuid_vector() {
        // PROTOCOL.md, JSON Example 1: `ab` prefix + encoded UUID.
        let uuid: uuid::Uuid = "d2c639aa-8816-431a-aaf6-d3fe2512ff61".parse().unwrap();
        assert_eq!(decode("^-aqEH.-t@S}K{vb[*k^").unwrap(), uuid.as_bytes());
        assert_eq!(encode(uuid.as_bytes()).unwrap(), "^-aqEH.-t@S}K{vb[*k^");
    }

    #[test]
    fn extremes() {
        assert_eq!(encode(&[0, 0, 0, 0]).unwrap(), "00000");
        assert_eq!(encode(&[0xFF; 4]).unwrap(), "%nSc0");
        assert_eq!(decode("%nSc0").unwrap(), [0xFF; 4]);
        assert_eq!(encode(&[]).unwrap(), "");
        assert_eq!(decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert_eq!(encode(&[1, 2, 3]), Err(Z85Error::UnalignedBytes { len: 3 }));
        assert_eq!(decode("Hello1"), Err(Z85Error::UnalignedText { len: 6 }));
        assert_eq!(
            decode_padded("HelloWorld", 3),
            Err(Z85Error::LengthMismatch {
                expected: 3,
                decoded: 8
            })
        );
        assert_eq!(
            decode_padded("HelloWorld", 9),
            Err(Z85Error::LengthMismatch {
                expected: 9,
                decoded: 8
            })
        );
    }

    #[test]
    fn bad_characters_are_errors() {
        assert_eq!(
            decode("Hel o"),
            Err(Z85Error::InvalidCharacter {
                character: ' ',
                position: 3
            })
        );
        assert_eq!(
            decode("Hello\"orld"),
            Err(Z85Error::InvalidCharacter {
                character: '"',
                position: 5
            })
        );
        // A multi-byte character: the text is 5 bytes long, and the error names the character.
        assert_eq!(
            decode("abcé"),
            Err(Z85Error::InvalidCharacter {
                character: 'é',
                position: 3
            })
        );
    }

    #[test]
    fn blocks_above_32_bits_are_errors() {
        // "%nSc0" is u32::MAX; "%nSc1" is one more.
        assert_eq!(
            decode("00000%nSc1"),
            Err(Z85Error::BlockOverflow { position: 5 })
        );
        assert_eq!(
            decode("#####"),
            Err(Z85Error::BlockOverflow { position: 0 })
        );
    }

    #[test]
    fn padded_round_trip_of_odd_lengths() {
        let bytes = [1u8, 2, 3, 4, 5, 6];
        let text = encode_padded(&bytes);
        assert_eq!(text.len(), 10);
        assert_eq!(decode_padded(&text, 6).unwrap(), bytes);
    }

    proptest! {
        #[test]
        fn round_trip(blocks in proptest::collection::vec(any::<[u8; 4]>(), 0..64)) {
            let bytes: Vec<u8> = blocks.concat();
            let text = encode(&bytes).unwrap();
            prop_assert_eq!(text.len(), bytes.len() / 4 * 5);
            prop_assert!(text.bytes().all(|b| ALPHABET.contains(&b)));
            prop_assert_eq!(decode(&text).unwrap(), bytes);
        }

        #[test]
        fn padded_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let text = encode_padded(&bytes);
            prop_assert_eq!(decode_padded(&text, bytes.len()).unwrap(), bytes);
        }

        #[test]
        fn decode_never_panics(text in "\\PC{0,30}") {
            // Any text either decodes, and then re-encodes to itself, or is an error.
            if let Ok(bytes) = decode(&text) {
                prop_assert_eq!(encode(&bytes).unwrap(), text);
            }
        }
    }
}
