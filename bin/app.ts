#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { defineResponderApp } from '../lib/responder-app';

// Env-agnostic stacks: `cdk deploy` targets the account and region of the caller's credentials.
defineResponderApp(new App());
