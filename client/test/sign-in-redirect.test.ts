import { describe, expect, it } from 'vitest';
import { afterSignIn } from '../src/sign-in-redirect';

describe('after signing in', () => {
  it('returns to the page the visitor asked for', () => {
    expect(afterSignIn('/folders/65a1b2c3?card=1')).toBe('/folders/65a1b2c3?card=1');
  });

  it('never leaves the site: another host, a protocol-relative address or no address goes home', () => {
    for (const redirect of ['https://evil.example/', '//evil.example/', 'folders', undefined, ['/a', '/b']]) expect(afterSignIn(redirect)).toBe('/');
  });
});
