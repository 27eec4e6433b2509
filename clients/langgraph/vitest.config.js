import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // @langchain/langgraph-checkpoint-validation's suite uses describe/it/expect as globals.
    globals: true,
    include: ['test/**/*.test.js'],
    globalSetup: ['test/global-setup.js'],
    reporters: ['default', './test/count-reporter.js'],
    testTimeout: 30000,
    hookTimeout: 60000,
  },
});
