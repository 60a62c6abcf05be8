// WireGuard keys: X25519 key pairs in WireGuard's text form (standard base64 of 32 bytes).
// Pure apart from the randomness of generation; persistence lives in key-store.ts.
import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';

/** A private key in base64; a distinct type so it is never passed where a public key belongs. */
export type PrivateKeyText = string & { readonly __private: true };

export interface KeyPair {
  readonly privateKey: PrivateKeyText;
  readonly publicKey: string;
}

// PKCS#8 DER prefix of an X25519 private key; the 32 raw bytes follow. Lets node:crypto import a
// raw key without JWK's mandatory public half.
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * True when `text` is what WireGuard accepts as a key: standard base64 with padding that decodes
 * to exactly 32 bytes (44 characters). Anything else is treated as "no key" (spec §2.1, §9.19).
 */
export function isWireguardKey(text: string): boolean {
  if (text.length !== 44 || !/^[A-Za-z0-9+/]{43}=$/.test(text)) return false;
  // The last character before '=' carries 4 bits of which the low 2 must be zero in canonical form.
  return Buffer.from(text, 'base64').toString('base64') === text;
}

/** A fresh private key, clamped exactly as `wg genkey` does. */
export function generatePrivateKey(random: (n: number) => Buffer = randomBytes): PrivateKeyText {
  const raw = random(32);
  raw[0] = (raw[0] as number) & 248;
  raw[31] = ((raw[31] as number) & 127) | 64;
  return raw.toString('base64') as PrivateKeyText;
}

/** The X25519 public key of a private key; null when `privateKey` is not a valid key text. */
export function publicKeyOf(privateKey: string): string | null {
  if (!isWireguardKey(privateKey)) return null;
  const der = Buffer.concat([PKCS8_X25519_PREFIX, Buffer.from(privateKey, 'base64')]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  return pub.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
}

/** Validates a private key text read from disk or elsewhere and pairs it with its public key. */
export function keyPairFromPrivate(privateKey: string): KeyPair | null {
  const publicKey = publicKeyOf(privateKey);
  return publicKey === null ? null : { privateKey: privateKey as PrivateKeyText, publicKey };
}

export function generateKeyPair(random?: (n: number) => Buffer): KeyPair {
  const privateKey = generatePrivateKey(random);
  return { privateKey, publicKey: publicKeyOf(privateKey) as string };
}
