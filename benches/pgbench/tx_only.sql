begin;
rollback;
