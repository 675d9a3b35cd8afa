"""Test helpers shared across test folders: real local servers, never mocks of Relance."""
