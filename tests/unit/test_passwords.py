"""Console passwords and session tokens (services.gateway.passwords): pure, no database."""

from argon2 import PasswordHasher

from services.gateway import passwords


def test_passwords_are_argon2id_hashes_that_check_only_the_right_password():
    stored = passwords.hash_password("correct horse battery")
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert passwords.password_matches(stored, "correct horse battery")
    assert not passwords.password_matches(stored, "correct horse batterY")
    assert passwords.hash_password("correct horse battery") != stored  # salted


def test_an_unknown_user_or_a_broken_hash_never_matches():
    assert not passwords.password_matches(None, "anything at all")
    assert not passwords.password_matches("not a hash", "anything at all")


def test_weaker_hashes_are_flagged_for_rehashing():
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024).hash("correct horse battery")
    assert passwords.password_matches(weak, "correct horse battery")
    assert passwords.needs_rehash(weak) and not passwords.needs_rehash(passwords.hash_password("x" * 12))


def test_generated_secrets_are_long_random_and_tokens_are_stored_hashed():
    generated = {passwords.generate_password() for _ in range(50)}
    assert len(generated) == 50 and all(len(p) >= 16 for p in generated)
    token = passwords.new_session_token()
    assert len(token) >= 43 and passwords.hash_session_token(token) != token
    assert passwords.hash_session_token(token) == passwords.hash_session_token(token)
