"""A FastAPI app on Lakebase with lakelink: an async SQLAlchemy engine for the App's own data, and
a lakelink.aio pool for routes that act as the signed-in user (their grants and row-level security).

Run it (inside a Databricks App, DATABRICKS_HOST/CLIENT_ID/CLIENT_SECRET come from the platform):

    LAKELINK_CONNECTION_STRING="Server=instance-....database.cloud.databricks.com;Instance=my-db" \\
        uvicorn app:app --port 8000

With the App's user authorization on, Databricks Apps forward the user's token in
X-Forwarded-Access-Token; ``lakelink.user_token(request)`` reads it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from typing import Any, AsyncIterator, Optional

import sqlalchemy as sa
from fastapi import Depends, FastAPI, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import orm
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

import lakelink
import lakelink.aio

CONN_STR = os.environ["LAKELINK_CONNECTION_STRING"]  # holds no secret inside an App; may hold one elsewhere


class Base(orm.DeclarativeBase):
    pass


class Note(Base):
    __tablename__ = "example_note"
    id: orm.Mapped[int] = orm.mapped_column(primary_key=True)
    body: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created: orm.Mapped[dt.datetime] = orm.mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())


class NoteIn(BaseModel):
    body: str


engine = create_async_engine("postgresql+lakelink_async://", connect_args={"connection_string": CONN_STR},
                             pool_size=5, pool_pre_ping=True)
Session = async_sessionmaker(engine, expire_on_commit=False)
users: Optional[lakelink.aio.AsyncConnectionPool] = None  # the signed-in users' sessions


@contextlib.asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    global users
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    users = lakelink.aio.AsyncConnectionPool(CONN_STR, max_users=100)
    await users.open()
    yield
    await users.close()
    await engine.dispose()


app = FastAPI(lifespan=lifespan)


async def session() -> AsyncIterator[AsyncSession]:
    async with Session() as s:
        yield s


@app.get("/api/health")
async def health(s: AsyncSession = Depends(session)) -> dict[str, Any]:
    return {"ok": await s.scalar(sa.select(sa.literal(1))) == 1}


@app.post("/api/notes", status_code=201)
async def add_note(note: NoteIn, s: AsyncSession = Depends(session)) -> dict[str, Any]:
    row = Note(body=note.body)
    s.add(row)
    await s.commit()
    return {"id": row.id, "body": row.body, "created": row.created.isoformat()}


@app.get("/api/notes")
async def list_notes(s: AsyncSession = Depends(session)) -> list[dict[str, Any]]:
    rows = (await s.scalars(sa.select(Note).order_by(Note.id))).all()
    return [{"id": r.id, "body": r.body, "created": r.created.isoformat()} for r in rows]


@app.get("/api/me")
async def me(request: Request) -> dict[str, Any]:
    """Runs as the user who called the App (their Lakebase role), never as the App."""
    assert users is not None
    try:
        async with users.connection(as_user=request) as conn:
            cur = await conn.execute("SELECT current_user, session_user")
            user, session_user = await cur.fetchone()  # type: ignore[misc]
    except lakelink.AppError as e:  # no forwarded token, or one the workspace refuses
        raise HTTPException(status_code=401, detail=e.message) from None
    return {"user": user, "session_user": session_user}
