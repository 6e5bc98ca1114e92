#!/usr/bin/env alua
- x = await y
