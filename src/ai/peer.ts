/**
 * Loads an optional peer dependency, or says which package to install: `ormai/ai` itself loads
 * without `ai` or `@langchain/core`, and only the adapter that needs one asks for it.
 */
export async function loadPeer<T>(
  name: string,
  load: () => Promise<T>,
  neededBy: string,
): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const { code, message } = error as { code?: string; message?: string };
    // the package itself is missing (not a module inside an installed one)
    if (code === 'ERR_MODULE_NOT_FOUND' && message?.includes(`'${name}'`)) {
      throw new Error(`${neededBy} needs the ${name} package: npm install ${name}`, {
        cause: error,
      });
    }
    throw error;
  }
}
