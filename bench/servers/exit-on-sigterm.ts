// The bench stops its servers with SIGTERM. Exiting normally (rather than by the signal) lets
// `node --cpu-prof` write its profile; bench servers have nothing to shut down gracefully.
process.once('SIGTERM', () => process.exit(0));
