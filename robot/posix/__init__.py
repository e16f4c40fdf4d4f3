"""Small helpers over the operating system, shared by every layer above: atomic and private
file writes, child processes that die with their parent. Standard library only."""
