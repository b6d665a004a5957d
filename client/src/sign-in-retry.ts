import { GraphQLRequestError } from './api/graphql';

/** The longest wait the sign-in form takes by itself; a longer one is shown to the person as an error. */
const LONGEST_WAIT_SECONDS = 30;

/** The seconds to wait when the server refused a sign-in unchecked only because others' attempts fill its line (a flood), else null. */
export function busySignInWait(error: unknown): number | null {
  if (!(error instanceof GraphQLRequestError) || error.code !== 'TOO_MANY_REQUESTS' || error.extensions.reason !== 'SIGN_IN_BUSY') return null;
  const seconds = Number(error.extensions.retryAfterSeconds);
  return Number.isInteger(seconds) && seconds > 0 && seconds <= LONGEST_WAIT_SECONDS ? seconds : null;
}

const oneSecond = () => new Promise<void>((resolve) => setTimeout(resolve, 1000));

/**
 * Signs in; when the server says to come back in a few seconds because of others' attempts (s13
 * re-attack B1), waits those seconds once — telling `waiting` how many are left, each second — and
 * tries again. A second refusal, or any other, is the caller's to show.
 */
export async function signInRetryingOnce(signIn: () => Promise<void>, waiting: (secondsLeft: number) => void): Promise<void> {
  try {
    await signIn();
    return;
  } catch (error) {
    const seconds = busySignInWait(error);
    if (seconds === null) throw error;
    for (let left = seconds; left > 0; left -= 1) {
      waiting(left);
      await oneSecond();
    }
  }
  await signIn();
}
