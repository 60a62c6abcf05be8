import { describe, expect, it } from 'vitest';
import {
  generateKeyPair,
  generatePrivateKey,
  isWireguardKey,
  keyPairFromPrivate,
  publicKeyOf,
} from './keys.js';

const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

describe('keys', () => {
  it('derives the X25519 public key of RFC 7748 §6.1 (Alice)', () => {
    const alicePrivate = b64('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const alicePublic = b64('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(publicKeyOf(alicePrivate)).toBe(alicePublic);
  });

  it('clamps generated private keys like `wg genkey` (spec §2.1)', () => {
    const key = Buffer.from(
      generatePrivateKey(() => Buffer.alloc(32, 0xff)),
      'base64',
    );
    expect(key[0]).toBe(0xf8);
    expect(key[31]).toBe(0x7f);
    const low = Buffer.from(
      generatePrivateKey(() => Buffer.alloc(32, 0)),
      'base64',
    );
    expect(low[31]).toBe(0x40);
  });

  it('generates a pair whose public half matches the private half', () => {
    const pair = generateKeyPair();
    expect(isWireguardKey(pair.privateKey)).toBe(true);
    expect(publicKeyOf(pair.privateKey)).toBe(pair.publicKey);
    expect(generateKeyPair().publicKey).not.toBe(pair.publicKey);
  });

  const cases: { rule: string; text: string; valid: boolean }[] = [
    {
      rule: '44 characters of base64 decoding to 32 bytes is a key',
      text: Buffer.alloc(32, 7).toString('base64'),
      valid: true,
    },
    {
      rule: 'the padding is required',
      text: Buffer.alloc(32, 7).toString('base64').slice(0, 43),
      valid: false,
    },
    { rule: '31 bytes is not a key', text: Buffer.alloc(31, 7).toString('base64'), valid: false },
    { rule: '33 bytes is not a key', text: Buffer.alloc(33, 7).toString('base64'), valid: false },
    {
      rule: 'URL-safe base64 is not accepted',
      text: Buffer.alloc(32, 0xfb).toString('base64url') + '=',
      valid: false,
    },
    {
      rule: 'non-canonical trailing bits are not a key',
      text: Buffer.alloc(32, 0).toString('base64').slice(0, 42) + 'B=',
      valid: false,
    },
    {
      rule: 'whitespace is not part of a key',
      text: ` ${Buffer.alloc(32, 7).toString('base64').slice(1)}`,
      valid: false,
    },
    { rule: 'the empty string is not a key', text: '', valid: false },
  ];
  for (const c of cases) {
    it(c.rule, () => expect(isWireguardKey(c.text)).toBe(c.valid));
  }

  it('refuses to pair an invalid private key', () => {
    expect(keyPairFromPrivate('garbage')).toBeNull();
    expect(publicKeyOf('garbage')).toBeNull();
  });
});
