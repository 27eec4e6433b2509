// The langgraph saver's test server helpers serve this package's tests too: one copy.
export * from '../../langgraph/test/server.js';
