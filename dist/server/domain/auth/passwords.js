/**
 * Password hashing with argon2id (OWASP's recommended parameters: 19 MiB,
 * 2 iterations, 1 lane). `@node-rs/argon2` ships prebuilt binaries, so no
 * install script or compiler is needed.
 */
import { hash, verify } from "@node-rs/argon2";
// `algorithm: 2` is Algorithm.Argon2id (a const enum we cannot import by name).
const options = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 };
/** Hashes a password into a self-describing PHC string. */
export function hashPassword(password) {
    return hash(password, options);
}
let dummyHash;
/**
 * Checks a password against a stored hash. With no hash (unknown user) it
 * still spends the same time on a dummy hash, so response times do not reveal
 * which usernames exist.
 */
export async function verifyPassword(stored, password) {
    if (stored === undefined) {
        dummyHash ??= hashPassword("not-a-real-password-but-the-same-cost");
        await verify(await dummyHash, password).catch(() => false);
        return false;
    }
    return verify(stored, password).catch(() => false);
}
//# sourceMappingURL=passwords.js.map