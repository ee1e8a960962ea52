/** The OpenTelemetry SDK `ormai serve` started, to flush at shutdown. */
export interface StartedTracing {
  shutdown(): Promise<void>;
}

const listed = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);

/**
 * Whether the standard OpenTelemetry variables ask for traces: `OTEL_TRACES_EXPORTER` names an
 * exporter other than `none`, or (unset) an OTLP endpoint is given. `OTEL_SDK_DISABLED=true` wins.
 */
export function tracesRequested(env: NodeJS.ProcessEnv): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const exporters = listed(env.OTEL_TRACES_EXPORTER);
  if (exporters.length > 0) return !exporters.includes('none');
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Starts `@opentelemetry/sdk-node` for `ormai serve` when the environment asks for traces; a
 * library never registers an SDK, so an app embedding ormai starts its own. The SDK reads the
 * exporter, endpoint, protocol, sampler and resource from the `OTEL_*` variables; the service is
 * `ormai` unless they name one. Metrics and logs stay off unless their own variables ask (ormai's
 * metrics are Prometheus text at /metrics). Without the package installed, ormai serves untraced
 * and says how to install it.
 */
export async function startTracing(
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): Promise<StartedTracing | undefined> {
  if (!tracesRequested(env)) return undefined;
  let sdkNode: typeof import('@opentelemetry/sdk-node');
  try {
    sdkNode = await import('@opentelemetry/sdk-node');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') throw error;
    warn(
      'ormai: the OTEL_* variables ask for traces, but @opentelemetry/sdk-node is not installed: ' +
        '`npm install @opentelemetry/sdk-node`; serving without tracing',
    );
    return undefined;
  }
  const named =
    Boolean(env.OTEL_SERVICE_NAME) ||
    /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? '');
  const asked = (name: string) => listed(env[name]).some((exporter) => exporter !== 'none');
  const sdk = new sdkNode.NodeSDK({
    ...(named ? {} : { serviceName: 'ormai' }),
    ...(asked('OTEL_METRICS_EXPORTER') ? {} : { metricReaders: [] }),
    ...(asked('OTEL_LOGS_EXPORTER') ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  return sdk;
}
